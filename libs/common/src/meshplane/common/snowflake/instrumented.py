"""A gateway wrapper that makes every call to Snowflake a span and metrics.

Wraps any :class:`~meshplane.common.snowflake.ports.SnowflakePort` (the real gateway, or a fake in
benchmarks), so the handlers stay free of telemetry code and every service measures the same way.
"""

from __future__ import annotations

import time

from opentelemetry import trace

from meshplane.common.snowflake.ports import SnowflakePort
from meshplane.common.snowflake.results import PlanResult, Row
from meshplane.common.snowflake.statements import Plan, Statement
from meshplane.common.telemetry import ServiceMetrics, get_tracer

__all__ = ["InstrumentedGateway"]


class InstrumentedGateway:
    def __init__(self, inner: SnowflakePort, metrics: ServiceMetrics) -> None:
        self._inner = inner
        self._metrics = metrics

    async def execute(self, plan: Plan, query_tag: str) -> PlanResult:
        with get_tracer().start_as_current_span(
            "snowflake.execute",
            kind=trace.SpanKind.CLIENT,
            attributes={
                "db.system": "snowflake",
                "db.operation.batch.size": len(plan),
                "meshplane.plan": plan.description,
            },
        ) as span:
            started = time.perf_counter()
            try:
                result = await self._inner.execute(plan, query_tag)
            finally:
                self._metrics.snowflake_seconds.observe(time.perf_counter() - started)
            self._metrics.snowflake_round_trips.inc(result.round_trips)
            self._metrics.snowflake_http_requests.inc(result.http_requests)
            span.set_attribute("snowflake.query_ids", [query_id or "" for query_id in result.query_ids])
            span.set_attribute("snowflake.http_requests", result.http_requests)
            return result

    async def query(self, statement: Statement, query_tag: str | None = None) -> tuple[Row, ...]:
        with get_tracer().start_as_current_span(
            "snowflake.query", kind=trace.SpanKind.CLIENT, attributes={"db.system": "snowflake"}
        ):
            started = time.perf_counter()
            try:
                return await self._inner.query(statement, query_tag)
            finally:
                # One single-statement request (one more when it had to set a changed tag first).
                self._metrics.snowflake_seconds.observe(time.perf_counter() - started)
                self._metrics.snowflake_round_trips.inc()
                self._metrics.snowflake_http_requests.inc()

    async def aclose(self) -> None:
        await self._inner.aclose()
