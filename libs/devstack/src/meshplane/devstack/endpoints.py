"""How to reach the parts of the local stack, as small values tests and benchmarks can pass around.

Deliberately free of any client library: ``SnowlocalEndpoint.connect_kwargs`` builds the arguments
for ``snowflake.connector.connect`` without importing the connector (only the gateway module of
``meshplane.common`` may import it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from meshplane.devstack.errors import DevstackError

SNOWLOCAL_ACCOUNT = "snowlocal"
SNOWLOCAL_USER = "ADMIN"
SNOWLOCAL_PASSWORD = "admin"  # noqa: S105 - the documented login of the local account, not a secret


@dataclass(frozen=True)
class SnowlocalEndpoint:
    """Where a snowlocal server listens, and the connector arguments to log in to it."""

    host: str
    port: int
    protocol: str = "http"

    @property
    def url(self) -> str:
        return f"{self.protocol}://{self.host}:{self.port}"

    @classmethod
    def from_url(cls, url: str) -> SnowlocalEndpoint:
        """Parse ``http://host:port`` (the form of ``SNOWLOCAL_URL``)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.port is None:
            raise DevstackError(f"not a snowlocal URL (expected http://host:port): {url!r}")
        return cls(host=parts.hostname, port=parts.port, protocol=parts.scheme)

    def connect_kwargs(
        self, user: str = SNOWLOCAL_USER, password: str = SNOWLOCAL_PASSWORD, **extra: Any
    ) -> dict[str, Any]:
        """Keyword arguments for ``snowflake.connector.connect`` that log in to this server."""
        return {
            "account": SNOWLOCAL_ACCOUNT,
            "host": self.host,
            "port": self.port,
            "protocol": self.protocol,
            "user": user,
            "password": password,
            **extra,
        }


@dataclass(frozen=True)
class KafkaEndpoint:
    """Where a Kafka broker's client listener is."""

    host: str
    port: int

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"
