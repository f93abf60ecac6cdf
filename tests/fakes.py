"""In-memory fakes for component tests and benchmarks: a Snowflake gateway that records plans, and a
catalog that holds what a test put in it.

:class:`RecordingGateway` has the gateway's shape (:class:`~meshplane.common.snowflake.ports.SnowflakePort`)
and runs nothing: it keeps every plan it is given, answers SHOW statements with the rows a test
scripted (none by default: nothing exists), and raises the errors a test queued, in order.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

from meshplane.common.catalog import Catalog
from meshplane.common.events import CatalogEntry, InputRef, SharingLedgerEntry
from meshplane.common.snowflake.errors import SnowflakeGatewayError
from meshplane.common.snowflake.results import PlanResult, Row, StatementResult
from meshplane.common.snowflake.statements import Plan, Statement
from meshplane.sharing.ledger import LedgerState, Recorded

RowsFor = Callable[[Statement], tuple[Row, ...]]


def _reads_only(plan: Plan) -> bool:
    return all(statement.sql.startswith(("SHOW", "DESCRIBE")) for statement in plan)


def requests(plan: Plan) -> int:
    """Requests that ran SQL for ``plan`` in the real gateway: one per read of a reads-only plan,
    else one (a multi-statement request)."""
    return len(plan) if _reads_only(plan) else min(len(plan), 1)


def http_requests(plan: Plan) -> int:
    """What the real gateway's requests for ``plan`` cost (the session's tag taken as set): a
    reads-only plan, one request per read; else the request, the first result (the connector
    fetches it), then each later read's result."""
    if _reads_only(plan) or len(plan) <= 1:
        return len(plan)
    return 2 + sum(1 for statement in tuple(plan)[1:] if statement.sql.startswith(("SHOW", "SELECT")))


def no_rows(_statement: Statement) -> tuple[Row, ...]:
    return ()


class RecordingGateway:
    def __init__(self, rows_for: RowsFor = no_rows) -> None:
        self.rows_for = rows_for
        self.plans: list[tuple[Plan, str]] = []
        self.queries: list[Statement] = []
        #: What the next calls to execute() do, first one first: raise the error, or (None) succeed.
        self.failures: list[Exception | None] = []
        self._ids = itertools.count(1)
        self.closed = False

    async def execute(self, plan: Plan, query_tag: str) -> PlanResult:
        failure = self.failures.pop(0) if self.failures else None
        if failure is not None:
            if isinstance(failure, SnowflakeGatewayError):
                failure.plan = plan  # as the real gateway does
            raise failure
        self.plans.append((plan, query_tag))
        results = tuple(
            StatementResult(
                statement=s, query_id=f"fake-{next(self._ids)}", rowcount=0, rows=self.rows_for(s)
            )
            for s in plan
        )
        return PlanResult(
            plan=plan,
            query_tag=query_tag,
            results=results,
            round_trips=requests(plan),
            http_requests=http_requests(plan),
        )

    async def query(self, statement: Statement, query_tag: str | None = None) -> tuple[Row, ...]:
        self.queries.append(statement)
        return self.rows_for(statement)

    async def aclose(self) -> None:
        self.closed = True

    @property
    def statements(self) -> list[str]:
        """Every statement executed so far, compiled, in order."""
        return [statement.compile() for plan, _tag in self.plans for statement in plan]


class _InMemory:
    """What a state source does when its state is only in memory: nothing to start, stop or catch up."""

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def ready(self) -> bool:
        return True

    async def caught_up(self) -> None:
        return None


class StaticCatalog(_InMemory):
    """An in-memory catalog source for component tests: what a test put there, and what was written."""

    def __init__(self, *entries: CatalogEntry) -> None:
        self.catalog = Catalog(entries)
        self.written: list[CatalogEntry] = []

    def remember(self, entry: CatalogEntry) -> None:
        self.written.append(entry)
        self.catalog.put(entry)


class MemoryLedger(_InMemory):
    """Sharing's ledger in memory only: every entry remembered counts as read from partition 0."""

    name = "ledger"

    def __init__(self, topic: str = "mesh.sharing-ledger") -> None:
        self.topic = topic
        self.state = LedgerState()
        self.written = 0

    def remember(self, entry: SharingLedgerEntry) -> None:
        self.written += 1
        where = InputRef(id=f"memory-{self.written}", topic=self.topic, partition=0, offset=self.written)
        self.state.put(entry, Recorded(0, where))
