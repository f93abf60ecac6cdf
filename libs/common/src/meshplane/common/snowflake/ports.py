"""The gateway as services see it: the interface that the real gateway and test fakes share.

A service's composition root receives something of this shape (``create_app(settings, gateway)``),
so handler tests can inject a recording fake and never need the connector.
"""

from __future__ import annotations

from typing import Protocol

from meshplane.common.snowflake.results import PlanResult, Row
from meshplane.common.snowflake.statements import Plan, Statement

__all__ = ["SnowflakePort"]


class SnowflakePort(Protocol):
    async def execute(self, plan: Plan, query_tag: str) -> PlanResult:
        """Run every statement of ``plan`` in order, in one round trip, tagged with ``query_tag``."""
        ...

    async def query(self, statement: Statement, query_tag: str | None = None) -> tuple[Row, ...]:
        """Run one read (SHOW, SELECT) and return its rows."""
        ...

    async def aclose(self) -> None: ...
