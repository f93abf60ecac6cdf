"""The provisioner's service layer: one product lifecycle event → observe → plan → execute → audit.

Each method is thin by design: the planner (:mod:`.plan`) decides, the gateway runs, and the
result becomes an audit event. Every method may run more than once for the same event (a crash
before the offset commit, a retried transient error), which is safe because plans are idempotent
and audit ids are derived from the input.

Round trips: the provisioner remembers which domains it has seen fully set up, so a product in a
known domain costs one request (its plan); a new domain costs two (SHOW, then the plan). When a
remembered domain turns out to be gone (someone dropped it by hand), the plan fails, the domain
is forgotten, and the event is planned again from what SHOW says.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from meshplane.common.events import (
    AuditProductProvisioned,
    AuditProductProvisioningFailed,
    AuditProductRetired,
    Envelope,
    EventData,
    ExecutedStatement,
    MeshContract,
    ProductCreated,
    ProductRetired,
    ProductUpdated,
    SnowflakeFailure,
)
from meshplane.common.messaging import EventContext, Outcome
from meshplane.common.snowflake.errors import PermanentSnowflakeError
from meshplane.common.snowflake.ports import SnowflakePort
from meshplane.common.snowflake.results import PlanResult
from meshplane.common.snowflake.statements import Plan
from meshplane.provisioner.layout import product_layout
from meshplane.provisioner.observe import ASSUME_DOMAIN_READY, Observed, observe
from meshplane.provisioner.plan import (
    BreakingChange,
    plan_product_created,
    plan_product_retired,
    plan_product_updated,
)

__all__ = ["ACCEPTED_TYPES", "Provisioner"]

log = logging.getLogger(__name__)

ACCEPTED_TYPES = frozenset({ProductCreated.EVENT_TYPE, ProductUpdated.EVENT_TYPE, ProductRetired.EVENT_TYPE})


def _executed(result: PlanResult) -> tuple[ExecutedStatement, ...]:
    return tuple(ExecutedStatement(sql=r.statement.compile(), query_id=r.query_id) for r in result.results)


def _failure(error: PermanentSnowflakeError) -> SnowflakeFailure:
    return SnowflakeFailure(
        errno=error.errno,
        sqlstate=error.sqlstate,
        message=str(error),
        query_id=error.query_id,
        statement_index=error.statement_index,
    )


def _ran_before(plan: Plan, error: PermanentSnowflakeError) -> tuple[ExecutedStatement, ...]:
    """The statements of ``plan`` that ran before the one that failed (query ids unknown)."""
    count = error.statement_index or 0
    return tuple(ExecutedStatement(sql=statement.compile()) for statement in tuple(plan)[:count])


class Provisioner:
    """Turns product lifecycle events into Snowflake state. Holds no state but a cache of ready domains."""

    def __init__(self, gateway: SnowflakePort, *, service_role: str) -> None:
        self._gateway = gateway
        self._service_role = service_role
        self._ready_domains: set[str] = set()

    async def __call__(self, envelope: Envelope[EventData], context: EventContext) -> Sequence[Outcome]:
        data = envelope.data
        if isinstance(data, ProductCreated):
            return await self._provision(data.mesh, context, updating=False)
        if isinstance(data, ProductUpdated):
            return await self._provision(data.mesh, context, updating=True)
        if isinstance(data, ProductRetired):
            return await self._retire(data, context)
        raise TypeError(f"the provisioner does not take {envelope.type}")  # the processor filters types

    async def _observed(
        self, domain: str, product: str, major: int, context: EventContext, *, updating: bool
    ) -> tuple[Observed, int]:
        # An update needs the product's columns; a create in a domain known ready needs nothing.
        if domain in self._ready_domains and not updating:
            return ASSUME_DOMAIN_READY, 0
        return await observe(self._gateway, domain, product, major, query_tag=context.query_tag)

    async def _provision(
        self, contract: MeshContract, context: EventContext, *, updating: bool
    ) -> Sequence[Outcome]:
        layout = product_layout(contract.domain, contract.product, contract.major)

        def failed(
            reason: str, error: PermanentSnowflakeError | None, ran: tuple[ExecutedStatement, ...]
        ) -> Sequence[Outcome]:
            return [
                Outcome(
                    "provisioning-failed",
                    AuditProductProvisioningFailed(
                        service=context.service,
                        input=context.input,
                        domain=contract.domain,
                        product=contract.product,
                        version=contract.version,
                        reason=reason,
                        failure=None if error is None else _failure(error),
                        statements=ran,
                    ),
                )
            ]

        try:
            observed, round_trips = await self._observed(
                contract.domain, contract.product, contract.major, context, updating=updating
            )
        except PermanentSnowflakeError as error:
            return failed(f"Snowflake refused to show what exists: {error}", error, ())

        try:
            if updating:
                plan = plan_product_updated(contract, observed, service_role=self._service_role)
            else:
                plan = plan_product_created(contract, observed, service_role=self._service_role)
        except BreakingChange as change:
            return failed(change.reason, None, ())

        try:
            result = await self._gateway.execute(plan, context.query_tag)
        except PermanentSnowflakeError as error:
            if observed is ASSUME_DOMAIN_READY:
                # The domain was remembered as ready but Snowflake disagrees: plan again from SHOW.
                log.warning("domain %s is not as remembered (%s); observing it again", contract.domain, error)
                self._ready_domains.discard(contract.domain)
                observed, more = await observe(
                    self._gateway,
                    contract.domain,
                    contract.product,
                    contract.major,
                    query_tag=context.query_tag,
                )
                round_trips += more + 1
                plan = plan_product_created(contract, observed, service_role=self._service_role)
                try:
                    result = await self._gateway.execute(plan, context.query_tag)
                except PermanentSnowflakeError as second:
                    return failed(f"Snowflake refused the plan: {second}", second, _ran_before(plan, second))
            else:
                return failed(f"Snowflake refused the plan: {error}", error, _ran_before(plan, error))
        round_trips += result.round_trips
        self._ready_domains.add(contract.domain)
        return [
            Outcome(
                "provisioned",
                AuditProductProvisioned(
                    service=context.service,
                    input=context.input,
                    domain=contract.domain,
                    product=contract.product,
                    version=contract.version,
                    database=layout.domain.database,
                    schema_name=layout.schema,
                    reader_role=layout.reader_role,
                    domain_created=not observed.domain_ready,
                    round_trips=round_trips,
                    statements=_executed(result),
                ),
            )
        ]

    async def _retire(self, event: ProductRetired, context: EventContext) -> Sequence[Outcome]:
        layout = product_layout(event.domain, event.product, event.major)
        observed, _ = await observe(
            self._gateway, event.domain, event.product, event.major, query_tag=context.query_tag
        )
        plan = plan_product_retired(
            event.domain, event.product, event.major, observed, service_role=self._service_role
        )
        try:
            result = await self._gateway.execute(plan, context.query_tag)
        except PermanentSnowflakeError as error:
            return [
                Outcome(
                    "provisioning-failed",
                    AuditProductProvisioningFailed(
                        service=context.service,
                        input=context.input,
                        domain=event.domain,
                        product=event.product,
                        reason=f"retiring version {event.major} failed: {error}",
                        failure=_failure(error),
                        statements=_ran_before(plan, error),
                    ),
                )
            ]
        return [
            Outcome(
                "retired",
                AuditProductRetired(
                    service=context.service,
                    input=context.input,
                    domain=event.domain,
                    product=event.product,
                    major=event.major,
                    schema_name=layout.schema,
                    reader_role=layout.reader_role,
                    statements=_executed(result),
                ),
            )
        ]
