"""The gateway's logic against a fake connection: one request per plan, the tag, failures, sessions.

The fake stands in for ``snowflake.connector.connect``; the integration tests run the same paths
through the real connector against snowlocal.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from snowflake.connector import errors as ce

from meshplane.common.snowflake.errors import PermanentSnowflakeError, TransientSnowflakeError
from meshplane.common.snowflake.gateway import SnowflakeGateway
from meshplane.common.snowflake.settings import SnowflakeSettings
from meshplane.common.snowflake.statements import Plan, Statement

Responder = Callable[[str], list[dict[str, Any]]]


@dataclass
class Request:
    sql: str
    params: Mapping[str, Any] | None
    num_statements: int | None

    @property
    def statements(self) -> list[str]:
        return self.sql.split("\n;\n")


@dataclass
class FakeServer:
    """Answers requests like Snowflake would, for the few behaviours the gateway depends on."""

    requests: list[Request] = field(default_factory=list)
    executed: list[str] = field(default_factory=list)
    # Statement text (after binding) → the exception Snowflake reports for it.
    failures: dict[str, Exception] = field(default_factory=dict)
    # Raised once by the next execute, before anything runs (e.g. an expired session).
    refuse_next: list[Exception] = field(default_factory=list)
    # Raised when the gateway fetches a statement's result after the request (GET /queries/<id>/result).
    fail_on_fetch: Exception | None = None
    # Query ids whose results the gateway fetched after the request.
    fetched: list[str] = field(default_factory=list)
    connect_calls: list[dict[str, Any]] = field(default_factory=list)
    connections: list[FakeConnection] = field(default_factory=list)
    respond: Responder = lambda sql: [{"status": "Statement executed successfully."}]
    in_flight: int = 0
    max_in_flight: int = 0
    delay: float = 0.0
    _guard: threading.Lock = field(default_factory=threading.Lock)
    _next_id: int = 0

    def connect(self, **kwargs: Any) -> FakeConnection:
        self.connect_calls.append(kwargs)
        connection = FakeConnection(self)
        self.connections.append(connection)
        return connection

    def query_id(self) -> str:
        self._next_id += 1
        return f"qid-{self._next_id}"

    def bind(self, sql: str, params: Mapping[str, Any] | None) -> str:
        if params is None:
            return sql
        assert type(params) is dict, "the connector only treats a real dict as named parameters"
        return sql % {name: repr(value) for name, value in params.items()}


class FakeCursor:
    def __init__(self, server: FakeServer) -> None:
        self.server = server
        self._results: list[tuple[str, list[dict[str, Any]]]] = []
        self._current: tuple[str, list[dict[str, Any]]] | None = None
        self.multi_statement_savedIds: list[str] = []

    @property
    def description(self) -> Sequence[Sequence[Any]] | None:
        if self._current is None or not self._current[1]:
            return None
        return [(name, None) for name in self._current[1][0]]

    @property
    def sfqid(self) -> str | None:
        return None if self._current is None else self._current[0]

    @property
    def rowcount(self) -> int | None:
        return None if self._current is None else len(self._current[1])

    def execute(self, command: str, params: Mapping[str, Any] | None = None, **kwargs: Any) -> FakeCursor:
        server = self.server
        with server._guard:
            server.in_flight += 1
            server.max_in_flight = max(server.max_in_flight, server.in_flight)
        try:
            time.sleep(server.delay)
            num_statements = kwargs.get("num_statements")
            server.requests.append(Request(command, params, num_statements))
            if server.refuse_next:
                raise server.refuse_next.pop(0)
            statements = server.bind(command, params).split("\n;\n")
            # Snowflake refuses a multi-statement request unless MULTI_STATEMENT_COUNT matches.
            expected = 1 if num_statements is None else num_statements
            if len(statements) != expected:
                raise ce.ProgrammingError(
                    msg=f"Actual statement count {len(statements)} did not match the desired statement "
                    f"count {expected}.",
                    errno=8,
                    sqlstate="0A000",
                )
            self._results = []
            for text in statements:
                if text in server.failures:
                    raise server.failures[text]  # Snowflake stops at the first failing statement
                server.executed.append(text)
                self._results.append((server.query_id(), server.respond(text)))
            # Like the connector: a multi-statement request's answer lists every statement's query
            # id, and the connector fetches the first result itself.
            self.multi_statement_savedIds = [qid for qid, _ in self._results] if num_statements else []
            self._current = self._results[0]
            return self
        finally:
            with server._guard:
                server.in_flight -= 1

    def fetchall(self) -> list[tuple[Any, ...]]:
        assert self._current is not None
        return [tuple(row.values()) for row in self._current[1]]

    def reset(self) -> None:
        self._current = None

    def query_result(self, qid: str) -> FakeCursor:
        if self.server.fail_on_fetch is not None:
            raise self.server.fail_on_fetch
        self.server.fetched.append(qid)
        self._current = next(result for result in self._results if result[0] == qid)
        return self

    def close(self) -> None:
        pass


class FakeConnection:
    def __init__(self, server: FakeServer) -> None:
        self.server = server
        self.closed = False
        self.expired = False

    def cursor(self) -> FakeCursor:
        return FakeCursor(self.server)

    def close(self) -> None:
        self.closed = True

    def is_closed(self) -> bool:
        return self.closed


SETTINGS = SnowflakeSettings(
    account="local",
    user="ADMIN",
    password="admin",
    role="MESH_PROVISIONER",
    warehouse="MESH_WH",
    host="127.0.0.1",
    port=8765,
    protocol="http",
)


@pytest.fixture
def server() -> FakeServer:
    return FakeServer()


@pytest.fixture
def gateway(server: FakeServer) -> SnowflakeGateway:
    return SnowflakeGateway(SETTINGS, connect=server.connect)


def with_reads() -> Plan:
    return Plan.of(
        "DDL, then reads",
        Statement('CREATE DATABASE IF NOT EXISTS "SALES"'),
        Statement("SHOW SCHEMAS IN ACCOUNT"),
        Statement('GRANT USAGE ON DATABASE "SALES" TO ROLE "R"'),
        Statement("SHOW ROLES"),
    )


def test_only_reads_have_their_results_fetched_each_for_one_request(
    server: FakeServer, gateway: SnowflakeGateway
) -> None:
    server.respond = lambda sql: [{"name": "X"}] if sql.startswith("SHOW") else [{"status": "ok"}]
    gateway.execute_blocking(three_statements(), "evt-1")  # the tag is set now
    result = gateway.execute_blocking(with_reads(), "evt-1")

    assert [r.rows for r in result.results] == [({"status": "ok"},), ({"name": "X"},), (), ({"name": "X"},)]
    assert server.fetched == [result.query_ids[1], result.query_ids[3]]
    assert result.http_requests == 1 + 1 + 2  # the request, the first result, two more reads
    assert all(result.query_ids)


def three_statements() -> Plan:
    return Plan.of(
        "three",
        Statement('CREATE DATABASE IF NOT EXISTS "SALES"'),
        Statement('COMMENT ON DATABASE "SALES" IS %(comment)s', {"comment": "it's sales"}),
        Statement('CREATE SCHEMA IF NOT EXISTS "SALES"."ORDERS"'),
    )


def test_a_plan_runs_in_one_request_behind_its_query_tag(
    server: FakeServer, gateway: SnowflakeGateway
) -> None:
    result = gateway.execute_blocking(three_statements(), "provisioner/evt-1")

    assert len(server.requests) == 1
    request = server.requests[0]
    assert request.num_statements == 4
    assert server.executed == [
        "ALTER SESSION SET QUERY_TAG = 'provisioner/evt-1'",
        'CREATE DATABASE IF NOT EXISTS "SALES"',
        'COMMENT ON DATABASE "SALES" IS "it\'s sales"',
        'CREATE SCHEMA IF NOT EXISTS "SALES"."ORDERS"',
    ]
    assert result.round_trips == 1
    assert result.query_tag == "provisioner/evt-1"
    assert [r.statement for r in result.results] == list(three_statements())
    assert result.query_ids == ("qid-2", "qid-3", "qid-4")  # qid-1 was the ALTER SESSION
    # DDL: the query ids come with the request's answer, the status lines are not fetched.
    assert server.fetched == []
    assert result.results[0].rows == ()
    assert result.http_requests == 2  # the request, and the first result the connector fetches


def test_connection_settings(server: FakeServer, gateway: SnowflakeGateway) -> None:
    gateway.execute_blocking(three_statements(), "t")
    (kwargs,) = server.connect_calls
    assert kwargs["paramstyle"] == "pyformat"
    assert kwargs["client_session_keep_alive"] is False
    assert (kwargs["host"], kwargs["port"], kwargs["protocol"]) == ("127.0.0.1", 8765, "http")
    assert "session_parameters" not in kwargs


def test_the_default_tag_is_a_session_parameter_at_login(server: FakeServer) -> None:
    settings = SETTINGS.model_copy(update={"query_tag": "provisioner"})
    gateway = SnowflakeGateway(settings, connect=server.connect)
    gateway.execute_blocking(Plan.of("one", Statement("SELECT 1")), "provisioner")
    assert server.connect_calls[0]["session_parameters"] == {"QUERY_TAG": "provisioner"}
    # The session already holds that tag, so the plan went alone, as a single statement.
    assert server.requests == [Request("SELECT 1", None, None)]


def test_the_tag_is_only_set_when_it_changes(server: FakeServer, gateway: SnowflakeGateway) -> None:
    gateway.execute_blocking(three_statements(), "evt-1")
    gateway.execute_blocking(three_statements(), "evt-1")
    gateway.execute_blocking(Plan.of("one", Statement("SELECT 1")), "evt-1")
    gateway.execute_blocking(Plan.of("one", Statement("SELECT 2")), "evt-2")
    assert [r.num_statements for r in server.requests] == [4, 3, None, 2]
    assert server.requests[2].sql == "SELECT 1"
    assert server.requests[3].statements[0] == "ALTER SESSION SET QUERY_TAG = %(s0_query_tag)s"
    assert server.requests[3].params == {"s0_query_tag": "evt-2"}


def test_an_empty_plan_does_not_touch_snowflake(server: FakeServer, gateway: SnowflakeGateway) -> None:
    result = gateway.execute_blocking(Plan("nothing to do"), "evt-1")
    assert result.results == ()
    assert result.round_trips == 0
    assert server.connect_calls == []


def test_a_failing_statement_stops_the_plan(server: FakeServer, gateway: SnowflakeGateway) -> None:
    server.failures['COMMENT ON DATABASE "SALES" IS "it\'s sales"'] = ce.ProgrammingError(
        msg="SQL access control error:\nInsufficient privileges to operate on database 'SALES'",
        errno=3001,
        sqlstate="42501",
        sfqid="qid-parent",
    )
    with pytest.raises(PermanentSnowflakeError) as caught:
        gateway.execute_blocking(three_statements(), "evt-1")
    assert caught.value.errno == 3001
    assert caught.value.query_id == "qid-parent"
    assert len(server.requests) == 1
    assert 'CREATE SCHEMA IF NOT EXISTS "SALES"."ORDERS"' not in server.executed
    # The session's tag is uncertain after a failure, so the next plan sets it again.
    del server.failures['COMMENT ON DATABASE "SALES" IS "it\'s sales"']
    gateway.execute_blocking(three_statements(), "evt-1")
    assert server.requests[-1].num_statements == 4


def test_a_failure_while_reading_results_names_the_statement(
    server: FakeServer, gateway: SnowflakeGateway
) -> None:
    gateway.execute_blocking(three_statements(), "evt-1")  # tag now set: no ALTER in front
    server.fail_on_fetch = ce.ProgrammingError(msg="gone", errno=2003, sqlstate="02000")
    with pytest.raises(PermanentSnowflakeError) as caught:
        gateway.execute_blocking(with_reads(), "evt-1")
    assert caught.value.statement_index == 1


def test_a_single_statement_failure_is_statement_zero(server: FakeServer, gateway: SnowflakeGateway) -> None:
    server.failures["SELECT 1"] = ce.ProgrammingError(msg="x", errno=1003, sqlstate="42000")
    with pytest.raises(PermanentSnowflakeError) as caught:
        gateway.query_blocking(Statement("SELECT 1"))
    assert caught.value.statement_index == 0


def test_a_lost_session_means_one_new_login_and_one_retry(
    server: FakeServer, gateway: SnowflakeGateway
) -> None:
    gateway.execute_blocking(three_statements(), "evt-1")
    server.refuse_next.append(
        ce.ProgrammingError(msg="Authentication token has expired.", errno=390114, sqlstate="08001")
    )
    result = gateway.execute_blocking(three_statements(), "evt-1")
    assert len(result.results) == 3
    assert len(server.connect_calls) == 2
    assert server.connections[0].closed
    # The new session has no tag yet, so the retry sets it again.
    assert server.requests[-1].num_statements == 4


def test_a_refused_token_also_means_a_new_login(server: FakeServer, gateway: SnowflakeGateway) -> None:
    # What the connector raises when the server no longer knows the session (snowlocal restarted).
    gateway.query_blocking(Statement("SELECT 1"))
    server.refuse_next.append(ce.HttpError(msg="401 Unauthorized", errno=290401, sqlstate="08001"))
    assert gateway.query_blocking(Statement("SELECT 1")) == ({"status": "Statement executed successfully."},)
    assert len(server.connect_calls) == 2


def test_the_retry_after_a_new_login_happens_once(server: FakeServer, gateway: SnowflakeGateway) -> None:
    for _ in range(3):
        server.refuse_next.append(ce.ProgrammingError(msg="expired", errno=390114, sqlstate="08001"))
    with pytest.raises(TransientSnowflakeError) as caught:
        gateway.execute_blocking(three_statements(), "evt-1")
    assert caught.value.reconnect
    assert len(server.connect_calls) == 2
    assert len(server.requests) == 2


def test_a_closed_or_expired_connection_is_replaced(server: FakeServer, gateway: SnowflakeGateway) -> None:
    gateway.query_blocking(Statement("SELECT 1"))
    server.connections[-1].closed = True
    gateway.query_blocking(Statement("SELECT 1"))
    server.connections[-1].expired = True
    gateway.query_blocking(Statement("SELECT 1"))
    assert len(server.connect_calls) == 3


def test_a_failed_login_is_classified() -> None:
    def refuse(**kwargs: Any) -> FakeConnection:
        raise ce.OperationalError(msg="Could not connect to Snowflake backend", errno=250001)

    gateway = SnowflakeGateway(SETTINGS, connect=refuse)
    with pytest.raises(TransientSnowflakeError) as caught:
        gateway.execute_blocking(three_statements(), "evt-1")
    assert caught.value.errno == 250001


def test_reads_stay_single_statement_and_set_a_changed_tag_apart(
    server: FakeServer, gateway: SnowflakeGateway
) -> None:
    server.respond = lambda sql: (
        [{"name": "SALES", "owner": "MESH_PROVISIONER"}] if sql.startswith("SHOW") else []
    )
    show = Statement("SHOW DATABASES LIKE %(pattern)s", {"pattern": "SALES"})

    rows = gateway.query_blocking(show, "quality/evt-9")
    assert rows == ({"name": "SALES", "owner": "MESH_PROVISIONER"},)
    assert [r.num_statements for r in server.requests] == [None, None]
    assert server.executed == ["ALTER SESSION SET QUERY_TAG = 'quality/evt-9'", "SHOW DATABASES LIKE 'SALES'"]

    gateway.query_blocking(show, "quality/evt-9")
    gateway.query_blocking(show)  # no tag asked for: whatever the session holds
    assert len(server.requests) == 4


@pytest.mark.parametrize(
    "sql",
    [
        "ALTER SESSION SET QUERY_TAG = 'x'",
        "alter  session unset query_tag",
        "USE ROLE ACCOUNTADMIN",
        " use warehouse W",
    ],
)
def test_plans_may_not_change_the_session(server: FakeServer, gateway: SnowflakeGateway, sql: str) -> None:
    with pytest.raises(ValueError, match="changes the session"):
        gateway.execute_blocking(Plan.of("sneaky", Statement(sql)), "evt-1")
    assert server.requests == []


def test_the_query_tag_is_checked_before_anything_is_sent(
    server: FakeServer, gateway: SnowflakeGateway
) -> None:
    with pytest.raises(ValueError, match="at most 2000"):
        gateway.execute_blocking(three_statements(), "t" * 2001)
    assert server.connect_calls == []


async def test_async_calls_share_the_connection_one_at_a_time(server: FakeServer) -> None:
    server.delay = 0.01
    gateway = SnowflakeGateway(SETTINGS, connect=server.connect)
    results = await asyncio.gather(*(gateway.execute(three_statements(), f"evt-{n}") for n in range(5)))
    assert [r.query_tag for r in results] == [f"evt-{n}" for n in range(5)]
    assert server.max_in_flight == 1
    assert len(server.connect_calls) == 1
    rows = await gateway.query(Statement("SELECT 1"))
    assert rows == ({"status": "Statement executed successfully."},)
    await gateway.aclose()
    assert server.connections[0].closed


def domain_warehouse_plan() -> Plan:
    return Plan.of(
        "a domain's warehouse",
        Statement(
            'CREATE WAREHOUSE IF NOT EXISTS "SALES_WH" WAREHOUSE_SIZE = XSMALL INITIALLY_SUSPENDED = TRUE'
        ),
        Statement('GRANT OWNERSHIP ON WAREHOUSE "SALES_WH" TO ROLE "SALES_ADMIN" COPY CURRENT GRANTS'),
    )


def test_a_plan_that_creates_a_warehouse_switches_the_session_back_to_the_services_own(
    server: FakeServer, gateway: SnowflakeGateway
) -> None:
    result = gateway.execute_blocking(domain_warehouse_plan(), "evt-1")
    (request,) = server.requests
    assert request.statements[-1] == 'USE WAREHOUSE "MESH_WH"'  # in the same request, last
    assert request.num_statements == 4  # the tag, the plan's two, the switch back
    assert [r.statement for r in result.results] == list(
        domain_warehouse_plan()
    )  # the switch is not the plan's


def test_if_the_switch_back_never_ran_the_next_plan_switches_first(
    server: FakeServer, gateway: SnowflakeGateway
) -> None:
    grant = 'GRANT OWNERSHIP ON WAREHOUSE "SALES_WH" TO ROLE "SALES_ADMIN" COPY CURRENT GRANTS'
    server.failures[grant] = ce.ProgrammingError(msg="Insufficient privileges", errno=3001, sqlstate="42501")
    with pytest.raises(PermanentSnowflakeError) as caught:
        gateway.execute_blocking(domain_warehouse_plan(), "evt-1")
    assert caught.value.statement_index is None or caught.value.statement_index < 2

    gateway.execute_blocking(three_statements(), "evt-2")
    statements = server.requests[-1].statements
    assert statements[:2] == ["ALTER SESSION SET QUERY_TAG = %(s0_query_tag)s", 'USE WAREHOUSE "MESH_WH"']
    gateway.execute_blocking(three_statements(), "evt-2")
    assert 'USE WAREHOUSE "MESH_WH"' not in server.requests[-1].statements  # certain again


def test_a_statement_failing_inside_a_request_is_named_from_the_line_snowflake_reports(
    server: FakeServer, gateway: SnowflakeGateway
) -> None:
    # The request is the tag (line 1), then the plan's statements on lines 3, 5 and 7.
    server.failures['COMMENT ON DATABASE "SALES" IS "it\'s sales"'] = ce.ProgrammingError(
        msg=(
            "JavaScript execution error: Uncaught Execution of multiple statements failed on statement "
            '"COMMENT ON DATABASE "SALES" IS..." (at line 5, position 0).\nSQL access control error:\n'
            "Insufficient privileges to operate on database 'SALES' in SYSTEM$MULTISTMT at 'throw' position 4"
        ),
        errno=100132,
        sqlstate="P0000",
        sfqid="qid-parent",
    )
    with pytest.raises(PermanentSnowflakeError) as caught:
        gateway.execute_blocking(three_statements(), "evt-1")
    assert caught.value.statement_index == 1
    assert caught.value.message.startswith("SQL access control error:\nInsufficient privileges")
    assert [s.sql for s in caught.value.ran_before] == ['CREATE DATABASE IF NOT EXISTS "SALES"']
