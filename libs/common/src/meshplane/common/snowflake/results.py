"""What running a plan or a query returned, as plain data (no connector types).

Services, audit events and test fakes build and read these without importing the gateway.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from meshplane.common.snowflake.statements import Plan, Statement

__all__ = ["PlanResult", "Row", "StatementResult"]

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
class PlanResult:
    """A plan's outcome: one :class:`StatementResult` per statement of the plan, in order.

    ``round_trips`` is how many requests executed SQL for this plan (1 for a non-empty plan,
    0 for an empty one); fetching a multi-statement request's per-statement results is not counted.
    """

    plan: Plan
    query_tag: str
    results: tuple[StatementResult, ...]
    round_trips: int

    @property
    def query_ids(self) -> tuple[str | None, ...]:
        return tuple(result.query_id for result in self.results)
