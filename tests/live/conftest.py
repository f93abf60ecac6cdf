"""The live suite: the provisioner's integration and end-to-end cases against a real Snowflake account.

It runs when the environment names a real account as the provisioner's identity, the way the
service itself is configured: ``MESH_SNOWFLAKE_ACCOUNT``, ``_USER``, ``_ROLE``, ``_WAREHOUSE`` and a key
pair (``_PRIVATE_KEY_PATH`` or ``_PRIVATE_KEY_PEM``), and no ``MESH_SNOWFLAKE_HOST`` (which points at
snowlocal). The account is prepared with ``deploy/snowflake/bootstrap.sql`` (``meshctl doctor``
checks it). Otherwise every test here is skipped, and says why.

Each test makes its own domain, ``live_<hex>``, and drops what it made at the end.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest

from meshplane.common.layout import domain_layout, product_layout
from meshplane.common.snowflake.gateway import SnowflakeGateway
from meshplane.common.snowflake.identifiers import quote_identifier
from meshplane.common.snowflake.settings import SnowflakeSettings
from meshplane.common.snowflake.statements import Plan, Statement

_WHY = (
    "no real Snowflake account is configured for the live suite: set MESH_SNOWFLAKE_ACCOUNT, _USER, "
    "_ROLE, _WAREHOUSE and a key pair (_PRIVATE_KEY_PATH or _PRIVATE_KEY_PEM), without _HOST, for the "
    "provisioner's identity made by deploy/snowflake/bootstrap.sql"
)


def live_settings() -> SnowflakeSettings | None:
    env = os.environ
    if not env.get("MESH_SNOWFLAKE_ACCOUNT") or env.get("MESH_SNOWFLAKE_HOST"):
        return None
    if not (env.get("MESH_SNOWFLAKE_PRIVATE_KEY_PATH") or env.get("MESH_SNOWFLAKE_PRIVATE_KEY_PEM")):
        return None
    return SnowflakeSettings()  # the rest from the environment; a bad value fails loudly


@pytest.fixture(scope="session")
def settings() -> SnowflakeSettings:
    found = live_settings()
    if found is None:
        pytest.skip(_WHY)
    return found


@pytest.fixture
def domain() -> str:
    return f"live_{secrets.token_hex(4)}"


@pytest.fixture
def gateway(settings: SnowflakeSettings, domain: str) -> Iterator[SnowflakeGateway]:
    gw = SnowflakeGateway(settings)
    try:
        yield gw
    finally:
        drop_domain(gw, domain)
        gw.close()


def drop_domain(gateway: SnowflakeGateway, domain: str, products: tuple[str, ...] = ("orders",)) -> None:
    """Everything a test's domain left: its database (data and all), warehouse and roles."""
    d = domain_layout(domain)
    readers = [product_layout(domain, product, 1).reader_role for product in products]
    statements = [
        Statement(f"DROP DATABASE IF EXISTS {quote_identifier(d.database)}"),
        Statement(f"DROP WAREHOUSE IF EXISTS {quote_identifier(d.warehouse)}"),
        *(
            Statement(f"DROP ROLE IF EXISTS {quote_identifier(role)}")
            for role in (*readers, d.consumer_role, d.engineer_role, d.admin_role)
        ),
    ]
    for statement in statements:  # one by one: a failure leaves the rest to try
        try:
            gateway.execute_blocking(
                Plan.of("clean up a live test", statement), "meshplane-live-tests/cleanup"
            )
        except Exception as exc:
            print(f"cleanup of {domain} could not run {statement.sql}: {exc}")
