"""What running a plan or a query returned, as plain data (no connector types).

Services, audit events and test fakes build and read these without importing the gateway.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from meshplane.common.snowflake.statements import Plan, Statement

__all__ = ["PlanResult", "Requests", "Row", "StatementResult"]

#: One result row, column name → value, names as Snowflake returns them (SHOW: lower case).
Row = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class StatementResult:
    """One statement's outcome: its query id (for QUERY_HISTORY), row count and rows."""

    statement: Statement
    query_id: str | None
    rowcount: int | None
    rows: tuple[Row, ...]


@dataclass(frozen=True, slots=True)
class Requests:
    """What some work cost in requests to Snowflake: those that ran SQL, and every HTTP request."""

    round_trips: int = 0
    http: int = 0

    def __add__(self, other: Requests) -> Requests:
        return Requests(self.round_trips + other.round_trips, self.http + other.http)


@dataclass(frozen=True, slots=True)
class PlanResult:
    """A plan's outcome: one :class:`StatementResult` per statement of the plan, in order.

    ``round_trips`` is how many requests executed SQL for this plan (1 for a non-empty plan,
    0 for an empty one). ``http_requests`` is every HTTP request the plan cost: the one that ran
    it, plus one per statement result fetched (the connector fetches the first of a
    multi-statement request itself; the gateway fetches only the results of reads, since a DDL
    statement's query id comes with the request's answer). The connector's own retries and its
    polling of a long-running query come on top (none against snowlocal).
    """

    plan: Plan
    query_tag: str
    results: tuple[StatementResult, ...]
    round_trips: int
    http_requests: int

    @property
    def requests(self) -> Requests:
        return Requests(self.round_trips, self.http_requests)

    @property
    def query_ids(self) -> tuple[str | None, ...]:
        return tuple(result.query_id for result in self.results)
