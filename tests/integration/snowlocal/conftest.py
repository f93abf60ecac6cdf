"""Fixtures for snowlocal's tests: an admin connection and a per-test sandbox of unique names.

Every test talks to snowlocal through the real snowflake-connector-python. The server is shared by
the whole test session, so each test names its objects with a unique suffix.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import snowflake.connector
from snowflake.connector import SnowflakeConnection

from meshplane.devstack.endpoints import SnowlocalEndpoint


class Sandbox:
    """Unique names, the admin's connection, and users that log in with one role each."""

    def __init__(self, endpoint: SnowlocalEndpoint) -> None:
        self.endpoint = endpoint
        self.suffix = uuid.uuid4().hex[:8].upper()
        self.admin = snowflake.connector.connect(**endpoint.connect_kwargs())
        self._connections: list[SnowflakeConnection] = [self.admin]
        self.warehouse = self.name("WH")
        self.sql(f"CREATE WAREHOUSE {self.warehouse} WAREHOUSE_SIZE = XSMALL AUTO_SUSPEND = 60")

    def name(self, base: str) -> str:
        return f"{base}_{self.suffix}".upper()

    def sql(self, text: str, **kwargs: Any) -> list[tuple[Any, ...]]:
        with self.admin.cursor() as cur:
            cur.execute(text, **kwargs)
            return list(cur.fetchall())

    def sql_with_columns(self, text: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """A statement's column names (as the connector describes them) and its rows."""
        with self.admin.cursor() as cur:
            cur.execute(text)
            return [d.name for d in cur.description], list(cur.fetchall())

    def connect(self, user: str, password: str, **extra: Any) -> SnowflakeConnection:
        conn = snowflake.connector.connect(
            **self.endpoint.connect_kwargs(user=user, password=password, **extra)
        )
        self._connections.append(conn)
        return conn

    def user_with_role(self, role: str, *, warehouse: bool = True) -> SnowflakeConnection:
        """A new user holding `role` (and USAGE on the sandbox warehouse), logged in with it."""
        user = self.name(f"U_{role}_{uuid.uuid4().hex[:4]}")
        self.sql(f"CREATE USER {user} PASSWORD = 'pw' DEFAULT_ROLE = {role}")
        self.sql(f"GRANT ROLE {role} TO USER {user}")
        if warehouse:
            self.sql(f"GRANT USAGE ON WAREHOUSE {self.warehouse} TO ROLE {role}")
        return self.connect(user, "pw", role=role, warehouse=self.warehouse)

    def close(self) -> None:
        for conn in self._connections:
            conn.close()


def query(conn: SnowflakeConnection, text: str, **kwargs: Any) -> list[tuple[Any, ...]]:
    with conn.cursor() as cur:
        cur.execute(text, **kwargs)
        return list(cur.fetchall())


def errno_of(conn: SnowflakeConnection, text: str) -> int:
    """The errno a statement fails with; fails the test if it succeeds."""
    with conn.cursor() as cur:
        try:
            cur.execute(text)
        except snowflake.connector.errors.Error as exc:
            return int(exc.errno)
    pytest.fail(f"expected {text!r} to fail")


@pytest.fixture
def sandbox(snowlocal_endpoint: SnowlocalEndpoint) -> Iterator[Sandbox]:
    box = Sandbox(snowlocal_endpoint)
    try:
        yield box
    finally:
        box.close()
