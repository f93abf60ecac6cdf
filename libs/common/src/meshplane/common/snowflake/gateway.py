"""The gateway: the one module of Meshplane that talks to ``snowflake.connector``.

It runs plans (:class:`~meshplane.common.snowflake.statements.Plan`) and reads
(:class:`~meshplane.common.snowflake.statements.Statement`), and turns every connector exception
into a :class:`~meshplane.common.snowflake.errors.TransientSnowflakeError` or
:class:`~meshplane.common.snowflake.errors.PermanentSnowflakeError` (import-linter keeps every other
module away from the connector).

One round trip per plan. The statements of a plan are joined into one multi-statement request and
sent with one ``cursor.execute(sql, params, num_statements=N)``; ``num_statements`` sets Snowflake's
``MULTI_STATEMENT_COUNT`` for that request, so Snowflake checks it received exactly N statements
(https://docs.snowflake.com/en/sql-reference/parameters#multi-statement-count,
https://docs.snowflake.com/en/developer-guide/python-connector/python-connector-example).
The connector then holds one result per statement, fetched in order with ``cursor.nextset()``;
those fetches read results that already exist, they execute nothing. Snowflake runs the statements
in order and stops at the first that fails, so a plan fails as a whole at its first error, with
the statements before it applied — which is why plans are idempotent and safe to run again.
A plan of one statement is sent as an ordinary single-statement request. A multi-statement request
needs a warehouse in the session ("Executing multiple statements in a single query requires that a
valid warehouse is available in a session", same page), hence the warehouse in the settings.

QUERY_TAG. Every plan runs under the query tag its caller names (service, event id, trace id). The
gateway remembers the tag its session holds; when a plan needs a different one, it puts
``ALTER SESSION SET QUERY_TAG = %(tag)s`` in front of the plan's statements, in the same request —
the combination Snowflake's own multi-statement example shows
(https://docs.snowflake.com/en/developer-guide/sql-api/submitting-multiple-statements). The tag is
a bound value: the connector quotes it (see ``statements`` on client-side binding). Reads
(:meth:`SnowflakeGateway.query`) are never made multi-statement, because a multi-statement request
needs a warehouse and a SHOW should not depend on one; a read whose tag differs sets it with a
separate ``ALTER SESSION`` request first (metadata only, no warehouse).

Sessions. One connection per gateway, used by one call at a time (a lock). The connector renews an
expired session token by itself; when the session is gone for good (390114 and friends, or the
connection is closed) the gateway logs in again and retries the call once — never more; any
further retrying is the caller's, with backoff. ``client_session_keep_alive`` is off: an idle
service lets its session lapse and logs in again on its next event, instead of running the
connector's heartbeat thread forever.

The connector is synchronous. The ``async`` methods run it in a worker thread
(``asyncio.to_thread``) so an event loop is never blocked; the ``*_blocking`` methods are the same
work for synchronous callers such as a CLI.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, Protocol, TypeVar

import snowflake.connector
from snowflake.connector import errors as connector_errors

from meshplane.common.snowflake.errors import (
    PermanentSnowflakeError,
    SnowflakeGatewayError,
    classify_fields,
    failed_statement,
)
from meshplane.common.snowflake.identifiers import quote_identifier
from meshplane.common.snowflake.results import PlanResult, Row, StatementResult
from meshplane.common.snowflake.settings import SnowflakeSettings
from meshplane.common.snowflake.statements import (
    Plan,
    RenderedRequest,
    Statement,
    render_request,
    set_query_tag,
)

__all__ = ["SnowflakeGateway", "classify"]

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

# The connector prefixes messages with "002003 (02000): "; the errno and SQLSTATE are kept as
# fields, so the prefix is dropped from the message to avoid saying them twice.
_FORMATTED_PREFIX_RE: Final = re.compile(r"\A\d{6,}(?: \(\S+\))?: ")

# Statements that change the session behind the gateway's back: the gateway keeps track of the
# session's QUERY_TAG and relies on the session's role, warehouse and database from the settings.
_SESSION_CHANGING_RE: Final = re.compile(r"\A\s*(?:ALTER\s+SESSION|USE)\b", re.IGNORECASE | re.ASCII)
# A warehouse created in a session becomes its current warehouse ("the warehouse is set as the
# current warehouse for the session", https://docs.snowflake.com/en/sql-reference/sql/create-warehouse ,
# usage notes), so the service's later work would run, and bill, on a domain's warehouse.
_CREATES_WAREHOUSE_RE: Final = re.compile(
    r"\A\s*CREATE\s+(?:OR\s+REPLACE\s+)?WAREHOUSE\b", re.IGNORECASE | re.ASCII
)
# Metadata reads, which need no warehouse (e.g. "The command does not require a running warehouse
# to execute", https://docs.snowflake.com/en/sql-reference/sql/show-organization-accounts). A
# multi-statement request needs one whatever it holds ("Executing multiple statements in a single
# query requires that a valid warehouse is available in a session",
# https://docs.snowflake.com/en/developer-guide/sql-api/submitting-multiple-statements), and would
# resume it, billing at least a minute: so a plan of reads only goes one statement per request.
_METADATA_READ_RE: Final = re.compile(r"\A\s*(?:SHOW|DESCRIBE|DESC)\b", re.IGNORECASE | re.ASCII)
# Statements whose result is a status line nobody reads: their query ids come with the request's
# answer, so their results are not fetched (a GET each).
_RESULTLESS_RE: Final = re.compile(
    r"\A\s*(?:CREATE|ALTER|DROP|UNDROP|GRANT|REVOKE|COMMENT|USE)\b", re.IGNORECASE | re.ASCII
)


class _Cursor(Protocol):
    """The part of ``SnowflakeCursor`` the gateway uses (lets tests hand in a fake connection)."""

    @property
    def description(self) -> Sequence[Sequence[Any]] | None: ...

    @property
    def sfqid(self) -> str | None: ...

    @property
    def rowcount(self) -> int | None: ...

    def execute(self, command: str, params: Mapping[str, Any] | None = None, **kwargs: Any) -> object: ...

    def fetchall(self) -> Sequence[Sequence[Any]]: ...

    @property
    def multi_statement_savedIds(self) -> Sequence[str]: ...  # noqa: N802 - the connector's name

    def query_result(self, qid: str) -> object: ...

    def reset(self) -> None: ...

    def close(self) -> object: ...


class _Connection(Protocol):
    def cursor(self) -> _Cursor: ...

    def close(self) -> object: ...

    def is_closed(self) -> bool: ...


def _message_of(exc: BaseException) -> str:
    if isinstance(exc, connector_errors.Error):
        raw = exc.raw_msg if exc.raw_msg else exc.msg
        text = str(raw) if raw else type(exc).__name__
        return _FORMATTED_PREFIX_RE.sub("", text, count=1)
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def classify(exc: BaseException, *, statement_index: int | None = None) -> SnowflakeGatewayError:
    """Sort a connector (or socket) exception into a transient or permanent gateway error.

    The tables and the reasoning are in :mod:`meshplane.common.snowflake.errors`. An
    ``OperationalError`` without an errno, or an ``OSError``, counts as a network failure.
    """
    if isinstance(exc, SnowflakeGatewayError):
        return exc
    if isinstance(exc, connector_errors.Error):
        errno = exc.errno if isinstance(exc.errno, int) and exc.errno not in (-1, 0) else None
        sqlstate = exc.sqlstate if exc.sqlstate and exc.sqlstate != "n/a" else None
        return classify_fields(
            _message_of(exc),
            errno=errno,
            sqlstate=sqlstate,
            query_id=exc.sfqid,
            network=isinstance(exc, connector_errors.OperationalError),
            statement_index=statement_index,
        )
    return classify_fields(
        _message_of(exc),
        errno=None,
        sqlstate=None,
        network=isinstance(exc, OSError),  # ConnectionError and TimeoutError are OSErrors
        statement_index=statement_index,
    )


def _rows(cursor: _Cursor) -> tuple[Row, ...]:
    description = cursor.description
    if not description:
        return ()
    names = [str(column[0]) for column in description]
    return tuple(dict(zip(names, row, strict=True)) for row in cursor.fetchall())


def _check_plan(plan: Plan) -> None:
    for position, statement in enumerate(plan.statements):
        if _SESSION_CHANGING_RE.match(statement.sql):
            raise ValueError(
                f"plan statement {position} changes the session ({statement.sql[:40]!r}…); the gateway "
                "owns the session's QUERY_TAG, role, warehouse and database"
            )


class SnowflakeGateway:
    """Runs plans and reads against Snowflake over one connection, in one round trip per plan.

    ``connect`` defaults to ``snowflake.connector.connect``; tests pass a wrapper to count
    requests or a fake to run without a server.
    """

    def __init__(self, settings: SnowflakeSettings, *, connect: Callable[..., Any] | None = None) -> None:
        self._settings = settings
        self._connect: Callable[..., Any] = connect if connect is not None else snowflake.connector.connect
        self._connection: _Connection | None = None
        # The QUERY_TAG the session holds, or None when not known (no session yet, or a request
        # failed and may or may not have set it): then the next call sets it again.
        self._session_tag: str | None = None
        # True when a request that created a warehouse failed before it could switch the session
        # back to the service's own: the next plan switches first.
        self._warehouse_uncertain = False
        #: HTTP requests sent to Snowflake for statements (not logins), since the gateway was made.
        self._http_requests = 0
        self._use_own_warehouse = Statement(f"USE WAREHOUSE {quote_identifier(settings.warehouse)}")
        # The thread lock makes the connection single-user for blocking callers; the asyncio lock
        # queues async callers on the event loop instead of parking worker threads on the thread lock.
        self._lock = threading.Lock()
        self._async_lock = asyncio.Lock()

    @property
    def settings(self) -> SnowflakeSettings:
        """Where and as whom this gateway connects."""
        return self._settings

    # ----------------------------------------------------------------------------------- async

    async def execute(self, plan: Plan, query_tag: str) -> PlanResult:
        """Run ``plan`` in one round trip under ``query_tag``; see :meth:`execute_blocking`."""
        async with self._async_lock:
            return await asyncio.to_thread(self.execute_blocking, plan, query_tag)

    async def query(self, statement: Statement, query_tag: str | None = None) -> tuple[Row, ...]:
        """Run one read and return its rows; see :meth:`query_blocking`."""
        async with self._async_lock:
            return await asyncio.to_thread(self.query_blocking, statement, query_tag)

    async def aclose(self) -> None:
        async with self._async_lock:
            await asyncio.to_thread(self.close)

    # -------------------------------------------------------------------------------- blocking

    def execute_blocking(self, plan: Plan, query_tag: str) -> PlanResult:
        """Run every statement of ``plan``, in order, in one request, under ``query_tag``.

        Raises :class:`TransientSnowflakeError` or :class:`PermanentSnowflakeError`; a failing
        statement stops the plan, and the error's ``statement_index`` names it when Snowflake's
        answer says which one it was; the error carries the plan (``error.plan``).
        """
        _check_plan(plan)
        tag_statement = set_query_tag(query_tag)  # validates the tag before anything is sent
        if not plan.statements:
            return PlanResult(plan, query_tag, (), round_trips=0, http_requests=0)
        with self._lock:
            try:
                return self._with_session(
                    lambda connection: self._run_plan(connection, plan, tag_statement, query_tag)
                )
            except SnowflakeGatewayError as error:
                error.plan = plan
                raise

    def query_blocking(self, statement: Statement, query_tag: str | None = None) -> tuple[Row, ...]:
        """Run one read (SHOW, SELECT) as a single-statement request and return its rows.

        With ``query_tag`` the read is tagged; if the session holds another tag, a separate
        ``ALTER SESSION`` request sets it first (see the module docstring for why).
        """
        tag_statement = None if query_tag is None else set_query_tag(query_tag)
        with self._lock:
            return self._with_session(
                lambda connection: self._run_query(connection, statement, tag_statement, query_tag)
            )

    def close(self) -> None:
        with self._lock:
            self._drop_connection()

    # -------------------------------------------------------------------------------- sessions

    def _open(self) -> _Connection:
        kwargs = self._settings.connect_kwargs()
        kwargs["paramstyle"] = "pyformat"
        kwargs["client_session_keep_alive"] = False
        if self._settings.query_tag:
            # https://docs.snowflake.com/en/sql-reference/parameters#query-tag : a session
            # parameter, so it can be given at login like any other.
            kwargs["session_parameters"] = {"QUERY_TAG": self._settings.query_tag}
        try:
            connection: _Connection = self._connect(**kwargs)
        except Exception as exc:
            raise classify(exc) from exc
        self._session_tag = self._settings.query_tag
        return connection

    def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        self._session_tag = None
        self._warehouse_uncertain = False  # a new session starts on the configured warehouse
        if connection is not None:
            try:
                connection.close()
            except Exception:  # a dead session cannot be closed politely; it is gone either way
                logger.debug("closing the Snowflake connection failed", exc_info=True)

    def _connection_in_use(self) -> _Connection:
        connection = self._connection
        # ``expired`` is set by the connector when Snowflake says the master token expired.
        if connection is not None and (connection.is_closed() or getattr(connection, "expired", False)):
            logger.info("the Snowflake session has ended; logging in again")
            self._drop_connection()
            connection = None
        if connection is None:
            connection = self._connection = self._open()
        return connection

    def _with_session(self, work: Callable[[_Connection], _T]) -> _T:
        for attempt in (1, 2):
            try:
                return work(self._connection_in_use())
            except SnowflakeGatewayError as error:
                if not error.reconnect:
                    raise
                # The session is gone (not merely its token, which the connector renews itself):
                # log in again and try once more. Running the work a second time is safe because
                # Snowflake refused it before executing anything, and plans are idempotent anyway.
                self._drop_connection()
                if attempt == 2:
                    raise
                logger.info("Snowflake session lost (%s); logging in again and retrying once", error.errno)
        raise AssertionError("unreachable")  # pragma: no cover

    # ---------------------------------------------------------------------------------- work

    def _run_plan(
        self, connection: _Connection, plan: Plan, tag_statement: Statement, query_tag: str
    ) -> PlanResult:
        before = self._http_requests
        statements = list(plan.statements)
        if all(_METADATA_READ_RE.match(statement.sql) for statement in statements):
            return self._run_reads(connection, plan, tag_statement, query_tag)
        prefix: list[Statement] = []
        if self._session_tag != query_tag:
            prefix.append(tag_statement)
        if self._warehouse_uncertain:
            prefix.append(self._use_own_warehouse)
        suffix: list[Statement] = []
        creates_warehouse = any(_CREATES_WAREHOUSE_RE.match(statement.sql) for statement in statements)
        if creates_warehouse:
            # Back to the service's own warehouse; if the request fails before it gets there, the
            # next one switches first.
            self._warehouse_uncertain = True
            if len(prefix) + len(statements) > 1:
                suffix.append(self._use_own_warehouse)  # in the same request
        offset = len(prefix)
        outcomes = self._run_request(
            connection, render_request(prefix + statements + suffix), offset, len(statements)
        )
        self._session_tag = query_tag
        if creates_warehouse and not suffix:
            # A lone statement goes alone (a multi-statement request would need a warehouse, and
            # this may be the one that creates the service's own): switch back in a request of its own.
            self._run_request(connection, render_request([self._use_own_warehouse]), offset=1, size=0)
        self._warehouse_uncertain = False
        results = tuple(
            StatementResult(statement, query_id, rowcount, rows)
            for statement, (query_id, rowcount, rows) in zip(
                plan.statements, outcomes[offset : offset + len(statements)], strict=True
            )
        )
        return PlanResult(plan, query_tag, results, round_trips=1, http_requests=self._http_requests - before)

    def _run_reads(
        self, connection: _Connection, plan: Plan, tag_statement: Statement, query_tag: str
    ) -> PlanResult:
        """A plan of metadata reads, one single-statement request each: no warehouse wakes."""
        before = self._http_requests
        requests = 0
        if self._session_tag != query_tag:
            self._run_request(connection, render_request([tag_statement]), offset=1, size=0)
            self._session_tag = query_tag
            requests += 1
        results = []
        for position, statement in enumerate(plan.statements):
            try:
                ((query_id, rowcount, rows),) = self._run_request(
                    connection, render_request([statement]), offset=0, size=1
                )
            except SnowflakeGatewayError as error:
                error.statement_index = position
                raise
            results.append(StatementResult(statement, query_id, rowcount, rows))
            requests += 1
        return PlanResult(
            plan, query_tag, tuple(results), round_trips=requests, http_requests=self._http_requests - before
        )

    def _run_query(
        self,
        connection: _Connection,
        statement: Statement,
        tag_statement: Statement | None,
        query_tag: str | None,
    ) -> tuple[Row, ...]:
        if tag_statement is not None and self._session_tag != query_tag:
            self._run_request(connection, render_request([tag_statement]), offset=1, size=0)
            self._session_tag = query_tag
        ((_query_id, _rowcount, rows),) = self._run_request(
            connection, render_request([statement]), offset=0, size=1
        )
        return rows

    def _run_request(
        self, connection: _Connection, request: RenderedRequest, offset: int, size: int
    ) -> list[tuple[str | None, int | None, tuple[Row, ...]]]:
        """Send one request and collect each statement's (query id, row count, rows), in order.

        ``offset`` is how many statements the gateway put in front of the caller's ``size``
        statements (it may put some after them too), so that an error names the statement by its
        position in the caller's plan.
        """
        count = request.statement_count
        statements = request.statements

        def failed(exc: BaseException, request_index: int | None) -> SnowflakeGatewayError:
            # Any failure leaves the session's tag uncertain: set it again next time.
            self._session_tag = None
            if request_index is None and (where := failed_statement(_message_of(exc))) is not None:
                # 100132: Snowflake names the failing statement by its line in the request.
                request_index = request.statement_at_line(where.line)
            inside = request_index is not None and offset <= request_index < offset + size
            index = request_index - offset if inside and request_index is not None else None
            return classify(exc, statement_index=index)

        cursor = connection.cursor()
        try:
            # Bound values go to the connector as a dict: its pyformat binding escapes and quotes
            # each value on the client (it only recognises a real dict as named parameters).
            params = None if request.params is None else dict(request.params)
            try:
                if count == 1:
                    cursor.execute(request.sql, params)
                else:
                    cursor.execute(request.sql, params, num_statements=count)
            except Exception as exc:
                # A single statement is known; for a multi-statement request Snowflake fails the
                # whole request (100132) and names the statement by its line.
                raise failed(exc, 0 if count == 1 else None) from exc
            # The connector has fetched the (first) statement's result already.
            self._http_requests += 1 if count == 1 else 2
            outcomes: list[tuple[str | None, int | None, tuple[Row, ...]]] = []
            outcomes.append((cursor.sfqid, cursor.rowcount, _rows(cursor)))
            if count == 1:
                return outcomes
            ids = list(cursor.multi_statement_savedIds)
            if len(ids) != count:
                self._session_tag = None
                raise PermanentSnowflakeError(
                    f"Snowflake returned {len(ids)} results for a request of {count} statements"
                )
            for index in range(1, count):
                if _RESULTLESS_RE.match(statements[index]):
                    outcomes.append((ids[index], None, ()))
                    continue
                try:
                    cursor.reset()  # as nextset() does: forget the last result and its row count
                    cursor.query_result(ids[index])
                    self._http_requests += 1
                    outcomes.append((cursor.sfqid, cursor.rowcount, _rows(cursor)))
                except Exception as exc:
                    raise failed(exc, index) from exc
            return outcomes
        finally:
            try:
                cursor.close()
            except Exception:
                logger.debug("closing a Snowflake cursor failed", exc_info=True)
