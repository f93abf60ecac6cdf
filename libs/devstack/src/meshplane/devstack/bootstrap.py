"""Run ``deploy/snowflake/bootstrap.sql`` on snowlocal, as an administrator would on Snowflake.

The script is the real one: the same file an administrator runs on a real account. Here snowlocal's
``ADMIN`` (who holds ACCOUNTADMIN) runs it statement by statement; each ``USE ROLE`` switches to a
session logged in with that role, because the gateway keeps the role its session was opened with.
Then the provisioner's user gets a password (snowlocal has no key pairs), and the settings to run
as that user come back, ready for ``SnowflakeSettings(**values)`` (or :func:`as_environment` for
``MESH_SNOWFLAKE_*`` variables).

Statements go through :class:`meshplane.common.snowflake.gateway.SnowflakeGateway` (the only module
that may import the connector); it is imported when bootstrapping, so importing this module costs
nothing. Running it twice is fine: the script is idempotent, and setting the password again
changes nothing.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Final

from meshplane.devstack.endpoints import (
    SNOWLOCAL_ACCOUNT,
    SNOWLOCAL_PASSWORD,
    SNOWLOCAL_USER,
    SnowlocalEndpoint,
)
from meshplane.devstack.paths import repo_root

if TYPE_CHECKING:
    from meshplane.common.snowflake.gateway import SnowflakeGateway

__all__ = [
    "PROVISIONER_PASSWORD",
    "PROVISIONER_ROLE",
    "PROVISIONER_USER",
    "PROVISIONER_WAREHOUSE",
    "SHARING_PASSWORD",
    "SHARING_ROLE",
    "SHARING_USER",
    "SHARING_WAREHOUSE",
    "as_environment",
    "bootstrap_provisioner",
    "bootstrap_sharing",
    "bootstrap_sql_path",
    "bootstrap_statements",
]

PROVISIONER_ROLE: Final = "MESHPLANE_PROVISIONER"
PROVISIONER_USER: Final = "MESHPLANE_PROVISIONER_SVC"
PROVISIONER_WAREHOUSE: Final = "MESHPLANE_PROVISIONER_WH"
#: The local account's password for the provisioner's user (snowlocal only; real Snowflake uses a key pair).
PROVISIONER_PASSWORD: Final = "provisioner-local"  # noqa: S105 - a local test account's documented login

SHARING_ROLE: Final = "MESHPLANE_SHARING"
SHARING_USER: Final = "MESHPLANE_SHARING_SVC"
SHARING_WAREHOUSE: Final = "MESHPLANE_SHARING_WH"
SHARING_PASSWORD: Final = "sharing-local"  # noqa: S105 - a local test account's documented login

_USE_ROLE_RE: Final = re.compile(r"\AUSE\s+ROLE\s+([A-Za-z][A-Za-z0-9_]*)\Z", re.IGNORECASE | re.ASCII)


def bootstrap_sql_path(service: str = "provisioner") -> Path:
    """The bootstrap script of a service: ``bootstrap.sql`` (the provisioner's, which the others
    build on) or ``bootstrap-<service>.sql``."""
    name = "bootstrap.sql" if service == "provisioner" else f"bootstrap-{service}.sql"
    return repo_root() / "deploy" / "snowflake" / name


def bootstrap_statements(text: str) -> list[str]:
    """The statements of a script: whole-line ``--`` comments dropped, split on ``;``.

    Enough for ``bootstrap.sql``, which keeps comments on lines of their own and has no ``;``
    inside a string; a script that breaks that rule is refused rather than split wrongly.
    """
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("--")]
    body = "\n".join(lines)
    if "--" in body or "/*" in body:
        raise ValueError("bootstrap.sql: comments must be on lines of their own ('--' at the start)")
    statements = [" ".join(part.split()) for part in body.split(";")]
    return [s for s in statements if s]


def _gateway(endpoint: SnowlocalEndpoint, role: str) -> SnowflakeGateway:
    from meshplane.common.snowflake.gateway import SnowflakeGateway
    from meshplane.common.snowflake.settings import SnowflakeSettings

    settings = SnowflakeSettings(
        account=SNOWLOCAL_ACCOUNT,
        user=SNOWLOCAL_USER,
        password=SNOWLOCAL_PASSWORD,  # pydantic turns it into a SecretStr
        role=role,
        warehouse=PROVISIONER_WAREHOUSE,  # skipped at login while it does not exist yet
        host=endpoint.host,
        port=endpoint.port,
        protocol=endpoint.protocol,
    )
    return SnowflakeGateway(settings)


def bootstrap_provisioner(
    endpoint: SnowlocalEndpoint, *, password: str = PROVISIONER_PASSWORD, script: Path | None = None
) -> dict[str, object]:
    """Run bootstrap.sql on snowlocal as ADMIN, give the provisioner's user ``password``, and return
    the ``MESH_SNOWFLAKE_*`` settings (as field names) to run as that user."""
    _run_script(endpoint, script or bootstrap_sql_path(), PROVISIONER_USER, password)
    return _settings(endpoint, PROVISIONER_USER, PROVISIONER_ROLE, PROVISIONER_WAREHOUSE, password)


def bootstrap_sharing(
    endpoint: SnowlocalEndpoint,
    *,
    password: str = SHARING_PASSWORD,
    provisioner_password: str = PROVISIONER_PASSWORD,
) -> dict[str, object]:
    """Run the provisioner's bootstrap and then sharing's (which builds on it) on snowlocal, give
    sharing's user ``password``, and return the settings to run as that user."""
    bootstrap_provisioner(endpoint, password=provisioner_password)
    _run_script(endpoint, bootstrap_sql_path("sharing"), SHARING_USER, password)
    return _settings(endpoint, SHARING_USER, SHARING_ROLE, SHARING_WAREHOUSE, password)


def _run_script(endpoint: SnowlocalEndpoint, script: Path, user: str, password: str) -> None:
    from meshplane.common.snowflake.statements import Statement

    statements = bootstrap_statements(script.read_text(encoding="utf-8"))
    gateways: dict[str, SnowflakeGateway] = {}
    try:
        role = "ACCOUNTADMIN"
        for sql in statements:
            use = _USE_ROLE_RE.match(sql)
            if use is not None:
                role = use.group(1).upper()
                continue
            gateway = gateways.get(role) or gateways.setdefault(role, _gateway(endpoint, role))
            gateway.query_blocking(Statement(sql))
        useradmin = gateways.get("USERADMIN") or gateways.setdefault(
            "USERADMIN", _gateway(endpoint, "USERADMIN")
        )
        # The name is one of this module's constants, never input.
        useradmin.query_blocking(
            Statement(f"ALTER USER {user} SET PASSWORD = %(password)s", {"password": password})
        )
    finally:
        for gateway in gateways.values():
            gateway.close()


def _settings(
    endpoint: SnowlocalEndpoint, user: str, role: str, warehouse: str, password: str
) -> dict[str, object]:
    return {
        "account": SNOWLOCAL_ACCOUNT,
        "user": user,
        "role": role,
        "warehouse": warehouse,
        "host": endpoint.host,
        "port": endpoint.port,
        "protocol": endpoint.protocol,
        "password": password,
    }


def as_environment(values: dict[str, object]) -> dict[str, str]:
    """The same settings as ``MESH_SNOWFLAKE_<FIELD>`` environment variables."""
    return {f"MESH_SNOWFLAKE_{key.upper()}": str(value) for key, value in values.items()}
