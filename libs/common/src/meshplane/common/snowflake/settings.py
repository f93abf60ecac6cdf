"""How and as whom the gateway connects to Snowflake, read from ``MESH_SNOWFLAKE_*`` with pydantic-settings.

Local development and real Snowflake differ only in these values:

* snowlocal: ``HOST=127.0.0.1``, ``PORT=8765``, ``PROTOCOL=http``, ``USER=ADMIN``, ``PASSWORD=admin``;
* real Snowflake: no host/port/protocol (the connector derives the host from the account), and a
  key pair — ``PRIVATE_KEY_PATH`` or ``PRIVATE_KEY_PEM``, with ``PRIVATE_KEY_PASSPHRASE`` if the
  key is encrypted (https://docs.snowflake.com/en/user-guide/key-pair-auth).

Exactly one way to authenticate must be configured; secrets are ``SecretStr`` so they never
appear in a repr or a log line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Self

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from meshplane.common.snowflake.identifiers import canonical_identifier
from meshplane.common.snowflake.statements import QUERY_TAG_MAX_LENGTH

__all__ = ["SnowflakeSettings", "load_private_key_der"]


def load_private_key_der(pem: bytes, passphrase: bytes | None) -> bytes:
    """Load a PEM private key and return it as unencrypted PKCS#8 DER, the form the connector takes.

    The connector's ``private_key`` argument accepts the DER bytes of the key
    (https://docs.snowflake.com/en/developer-guide/python-connector/python-connector-connect ,
    "Using key-pair authentication and key-pair rotation"). Snowflake's key-pair authentication
    uses RSA keys, so anything else is refused here rather than at login.
    """
    try:
        key = serialization.load_pem_private_key(pem, password=passphrase)
    except TypeError as exc:
        # cryptography raises TypeError for "encrypted but no passphrase" and the reverse.
        raise ValueError(f"the private key could not be loaded: {exc}") from None
    except ValueError as exc:
        raise ValueError(
            f"the private key could not be loaded (not PEM, or a wrong passphrase): {exc}"
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"Snowflake key-pair authentication needs an RSA key, not {type(key).__name__}")
    return key.private_bytes(
        encoding=serialization.Encoding.DER,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    )


class SnowflakeSettings(BaseSettings):
    """Where and as whom the gateway connects. Environment variables: ``MESH_SNOWFLAKE_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="MESH_SNOWFLAKE_", extra="ignore", frozen=True)

    account: str = Field(min_length=1)
    user: str = Field(min_length=1)
    #: The service's own role, warehouse and (optionally) database; names follow the mesh's rule
    #: and are upper-cased like every other name (see ``identifiers``).
    role: str
    warehouse: str
    database: str | None = None

    #: Only for a local Snowflake (snowlocal): the connector derives the host from the account.
    host: str | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    protocol: Literal["https", "http"] | None = None

    password: SecretStr | None = None
    private_key_path: Path | None = None
    private_key_pem: SecretStr | None = None
    private_key_passphrase: SecretStr | None = None

    #: The session's QUERY_TAG until a plan sets its own, e.g. the service name.
    query_tag: str | None = Field(default=None, max_length=QUERY_TAG_MAX_LENGTH)
    login_timeout_seconds: int = Field(default=30, ge=1)

    @field_validator("role", "warehouse", "database")
    @classmethod
    def _mesh_name(cls, value: str | None) -> str | None:
        return None if value is None else canonical_identifier(value)

    @model_validator(mode="after")
    def _one_way_to_authenticate(self) -> Self:
        ways = [
            name
            for name, value in (
                ("password", self.password),
                ("private_key_path", self.private_key_path),
                ("private_key_pem", self.private_key_pem),
            )
            if value is not None
        ]
        if len(ways) != 1:
            found = ", ".join(ways) if ways else "none"
            raise ValueError(
                "configure exactly one way to authenticate: password (snowlocal) or a private key, "
                f"as private_key_path or private_key_pem (real Snowflake); found: {found}"
            )
        if self.private_key_passphrase is not None and self.password is not None:
            raise ValueError("private_key_passphrase is set but authentication is by password")
        if self.password is None:
            # Load the key now, so a bad key stops the service at start-up, not at its first event.
            self.private_key_der()
        return self

    def _private_key_pem_bytes(self) -> bytes | None:
        if self.private_key_pem is not None:
            return self.private_key_pem.get_secret_value().encode()
        if self.private_key_path is not None:
            try:
                return self.private_key_path.read_bytes()
            except OSError as exc:
                raise ValueError(
                    f"cannot read private_key_path {str(self.private_key_path)!r}: {exc.strerror}"
                ) from None
        return None

    def private_key_der(self) -> bytes | None:
        """The private key as DER bytes for the connector, or ``None`` for password authentication."""
        pem = self._private_key_pem_bytes()
        if pem is None:
            return None
        passphrase = self.private_key_passphrase
        return load_private_key_der(
            pem, None if passphrase is None else passphrase.get_secret_value().encode()
        )

    def connect_kwargs(self) -> dict[str, Any]:
        """The keyword arguments for ``snowflake.connector.connect`` (secrets included: never log this)."""
        kwargs: dict[str, Any] = {
            "account": self.account,
            "user": self.user,
            "role": self.role,
            "warehouse": self.warehouse,
            "login_timeout": self.login_timeout_seconds,
        }
        if self.database is not None:
            kwargs["database"] = self.database
        for name in ("host", "port", "protocol"):
            value = getattr(self, name)
            if value is not None:
                kwargs[name] = value
        if self.password is not None:
            kwargs["password"] = self.password.get_secret_value()
        else:
            # With private_key set the connector authenticates with SNOWFLAKE_JWT on its own.
            kwargs["private_key"] = self.private_key_der()
        return kwargs
