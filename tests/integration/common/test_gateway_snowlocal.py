"""The gateway through the real snowflake-connector-python, against snowlocal.

Requests are counted at the cursor (``execute`` calls), not inside snowlocal: a plan must cost one
``execute`` however many statements it has. Objects get a per-module suffix, since the snowlocal
server is shared by the whole test session.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
import snowflake.connector

from meshplane.common.snowflake import (
    PermanentSnowflakeError,
    Plan,
    SnowflakeGateway,
    Statement,
    TransientSnowflakeError,
    qualified_name,
    quote_identifier,
)
from meshplane.common.snowflake.settings import SnowflakeSettings
from meshplane.devstack.endpoints import SnowlocalEndpoint

SUFFIX = uuid.uuid4().hex[:8].upper()


def name(base: str) -> str:
    return f"{base}_{SUFFIX}"


WAREHOUSE = name("GW_WH")


@dataclass
class Executes:
    """What the cursors of a counted connection were asked to execute."""

    calls: list[tuple[str, int | None]] = field(default_factory=list)

    def since(self, mark: int) -> list[tuple[str, int | None]]:
        return self.calls[mark:]


class CountingCursor:
    def __init__(self, cursor: Any, executes: Executes) -> None:
        self._cursor = cursor
        self._executes = executes

    def execute(self, command: str, params: Mapping[str, Any] | None = None, **kwargs: Any) -> Any:
        self._executes.calls.append((command, kwargs.get("num_statements")))
        return self._cursor.execute(command, params, **kwargs)

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._cursor, attribute)


class CountingConnection:
    def __init__(self, connection: Any, executes: Executes) -> None:
        self._connection = connection
        self._executes = executes

    def cursor(self) -> CountingCursor:
        return CountingCursor(self._connection.cursor(), self._executes)

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._connection, attribute)


def settings_for(endpoint: SnowlocalEndpoint, **overrides: Any) -> SnowflakeSettings:
    login = endpoint.connect_kwargs()
    values: dict[str, Any] = {
        "account": login["account"],
        "user": login["user"],
        "password": login["password"],
        "host": endpoint.host,
        "port": endpoint.port,
        "protocol": endpoint.protocol,
        "role": "ACCOUNTADMIN",
        "warehouse": WAREHOUSE,
    }
    values.update(overrides)
    return SnowflakeSettings(**values)


@pytest.fixture(scope="module")
def executes() -> Executes:
    return Executes()


@pytest.fixture(scope="module")
def gateway(snowlocal_endpoint: SnowlocalEndpoint, executes: Executes) -> Iterator[SnowflakeGateway]:
    # A warehouse first: Snowflake runs multi-statement requests only with a warehouse in the
    # session. The bootstrap gateway's login tag equals the plan's tag, so its one-statement plan
    # goes out as a plain single statement, before any warehouse exists.
    bootstrap = SnowflakeGateway(settings_for(snowlocal_endpoint, query_tag="gateway-tests/bootstrap"))
    bootstrap.execute_blocking(
        Plan.of(
            "a warehouse for the gateway tests",
            Statement(
                f"CREATE WAREHOUSE IF NOT EXISTS {quote_identifier(WAREHOUSE)} "
                "WAREHOUSE_SIZE = XSMALL AUTO_SUSPEND = 60"
            ),
        ),
        "gateway-tests/bootstrap",
    )
    bootstrap.close()

    def connect(**kwargs: Any) -> CountingConnection:
        return CountingConnection(snowflake.connector.connect(**kwargs), executes)

    gateway = SnowflakeGateway(settings_for(snowlocal_endpoint), connect=connect)
    yield gateway
    gateway.close()


def test_a_plan_of_several_statements_is_one_request(gateway: SnowflakeGateway, executes: Executes) -> None:
    database = name("GW_SALES")
    schema = qualified_name(database, "ORDERS")
    plan = Plan.of(
        "provision a product",
        Statement(f"CREATE DATABASE IF NOT EXISTS {quote_identifier(database)}"),
        Statement(f"CREATE SCHEMA IF NOT EXISTS {schema}"),
        Statement(
            f"CREATE TABLE IF NOT EXISTS {qualified_name(database, 'ORDERS', 'DAILY')} (ID INT, NOTE TEXT)"
        ),
        Statement(
            f"INSERT INTO {qualified_name(database, 'ORDERS', 'DAILY')} (ID, NOTE) VALUES (%(id)s, %(note)s)",
            {"id": 1, "note": "it's; -- not a comment"},
        ),
        Statement(f"SELECT ID, NOTE FROM {qualified_name(database, 'ORDERS', 'DAILY')} ORDER BY ID"),
    )
    mark = len(executes.calls)

    result = gateway.execute_blocking(plan, "gateway-tests/plan")

    requests = executes.since(mark)
    assert len(requests) == 1, requests
    # The tag changed (new session), so ALTER SESSION went first, in the same request.
    assert requests[0][1] == len(plan) + 1
    assert result.round_trips == 1
    assert [r.statement for r in result.results] == list(plan)
    assert all(r.query_id for r in result.results)
    assert len(set(result.query_ids)) == len(plan)
    assert result.results[3].rowcount == 1
    assert result.results[4].rows == ({"ID": 1, "NOTE": "it's; -- not a comment"},)

    # Idempotent: the same plan again succeeds, and now without the ALTER SESSION in front.
    mark = len(executes.calls)
    gateway.execute_blocking(plan, "gateway-tests/plan")
    assert [count for _, count in executes.since(mark)] == [len(plan)]


def test_a_single_statement_plan_runs_without_num_statements(
    gateway: SnowflakeGateway, executes: Executes
) -> None:
    gateway.execute_blocking(Plan.of("warm", Statement("SELECT 1 AS ONE")), "gateway-tests/single")
    mark = len(executes.calls)
    result = gateway.execute_blocking(Plan.of("one", Statement("SELECT 2 AS TWO")), "gateway-tests/single")
    assert executes.since(mark) == [("SELECT 2 AS TWO", None)]
    assert result.results[0].rows == ({"TWO": 2},)


def test_a_failing_statement_stops_the_plan_with_a_permanent_error(
    gateway: SnowflakeGateway, executes: Executes
) -> None:
    database = name("GW_STOP")
    after = name("GW_NEVER")
    plan = Plan.of(
        "fails in the middle",
        Statement(f"CREATE DATABASE IF NOT EXISTS {quote_identifier(database)}"),
        Statement(f"CREATE SCHEMA {qualified_name(name('GW_MISSING'), 'S')}"),
        Statement(f"CREATE DATABASE IF NOT EXISTS {quote_identifier(after)}"),
    )
    mark = len(executes.calls)
    with pytest.raises(PermanentSnowflakeError) as caught:
        gateway.execute_blocking(plan, "gateway-tests/failure")
    assert len(executes.since(mark)) == 1
    # As Snowflake answers a multi-statement request whose statement fails: 100132 (P0000), the
    # statement named by its line, the inner error in the message.
    assert caught.value.errno == 100132
    assert caught.value.sqlstate == "P0000"
    assert "does not exist or not authorized" in caught.value.message
    assert caught.value.statement_index == 1  # the tag went first; the plan's second statement
    assert caught.value.query_id
    assert [s.sql for s in caught.value.ran_before] == [plan.statements[0].sql]

    shown = gateway.query_blocking(Statement("SHOW DATABASES LIKE %(pattern)s", {"pattern": f"GW_%{SUFFIX}"}))
    names = {row["name"] for row in shown}
    assert database in names  # before the failure: applied
    assert after not in names  # after it: never ran


@pytest.mark.parametrize(
    ("sql", "errno"),
    [
        ("SELEC 1", 1003),
        (f"DROP DATABASE {quote_identifier(name('GW_ABSENT'))}", 2003),
    ],
)
def test_errors_are_classified(gateway: SnowflakeGateway, sql: str, errno: int) -> None:
    # After a failure the gateway no longer trusts the session's tag; a successful plan sets it,
    # so the failing plan below goes out alone and its error names statement 0.
    gateway.execute_blocking(Plan.of("tag", Statement("SELECT 1")), "gateway-tests/errors")
    with pytest.raises(PermanentSnowflakeError) as caught:
        gateway.execute_blocking(Plan.of("bad", Statement(sql)), "gateway-tests/errors")
    assert caught.value.errno == errno
    assert caught.value.statement_index == 0


def test_already_exists_is_permanent(gateway: SnowflakeGateway) -> None:
    database = quote_identifier(name("GW_TWICE"))
    gateway.execute_blocking(
        Plan.of("first", Statement(f"CREATE DATABASE {database}")), "gateway-tests/errors"
    )
    with pytest.raises(PermanentSnowflakeError) as caught:
        gateway.execute_blocking(
            Plan.of("again", Statement(f"CREATE DATABASE {database}")), "gateway-tests/errors"
        )
    assert caught.value.errno == 2002


def test_a_wrong_password_is_permanent(snowlocal_endpoint: SnowlocalEndpoint) -> None:
    gateway = SnowflakeGateway(settings_for(snowlocal_endpoint, password="not-the-password"))
    with pytest.raises(PermanentSnowflakeError) as caught:
        gateway.query_blocking(Statement("SELECT 1"))
    assert caught.value.errno == 390100


def test_nothing_listening_is_transient(snowlocal_endpoint: SnowlocalEndpoint) -> None:
    gateway = SnowflakeGateway(settings_for(snowlocal_endpoint, port=1, login_timeout_seconds=2))
    with pytest.raises(TransientSnowflakeError):
        gateway.query_blocking(Statement("SELECT 1"))


async def test_the_async_api(gateway: SnowflakeGateway) -> None:
    result = await gateway.execute(Plan.of("async", Statement("SELECT 3 AS THREE")), "gateway-tests/async")
    assert result.results[0].rows == ({"THREE": 3},)
    assert await gateway.query(Statement("SELECT 4 AS FOUR")) == ({"FOUR": 4},)


def test_the_query_tag_is_set_in_the_session(gateway: SnowflakeGateway) -> None:
    # Kept apart on purpose: it needs snowlocal to report session parameters
    # (https://docs.snowflake.com/en/sql-reference/sql/show-parameters).
    tag = f"provisioner/evt-{SUFFIX}/trace-0af7651916cd43dd"
    gateway.execute_blocking(Plan.of("tagged", Statement("SELECT 1")), tag)
    rows = gateway.query_blocking(Statement("SHOW PARAMETERS LIKE 'QUERY_TAG' IN SESSION"))
    assert [(row["key"], row["value"]) for row in rows] == [("QUERY_TAG", tag)]


def test_after_creating_a_warehouse_the_session_is_back_on_its_own(gateway: SnowflakeGateway) -> None:
    other = name("GW_DOMAIN_WH")
    gateway.execute_blocking(
        Plan.of(
            "a domain's warehouse",
            Statement(
                f"CREATE WAREHOUSE IF NOT EXISTS {quote_identifier(other)} WAREHOUSE_SIZE = XSMALL "
                "INITIALLY_SUSPENDED = TRUE"
            ),
            Statement("SELECT 1 AS ONE"),
        ),
        "gateway-tests/warehouse",
    )
    # Snowflake made the new warehouse the session's current one; the gateway switched back, so
    # the service's next work does not run (nor bill) on a domain's warehouse.
    (row,) = gateway.query_blocking(Statement("SELECT CURRENT_WAREHOUSE() AS WH"))
    assert row["WH"] == WAREHOUSE
