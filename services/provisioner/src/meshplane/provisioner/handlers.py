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
from meshplane.provisioner.observe import ASSUME_DOMAIN_READY, observe
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


def _failed(
    context: EventContext,
    *,
    domain: str,
    product: str,
    version: str | None,
    reason: str,
    error: PermanentSnowflakeError | None = None,
    plan: Plan | None = None,
) -> Sequence[Outcome]:
    """The one audit event of an event that will not be tried again."""
    audit = AuditProductProvisioningFailed(
        service=context.service,
        input=context.input,
        domain=domain,
        product=product,
        version=version,
        reason=reason,
        failure=None if error is None else _failure(error),
        statements=() if error is None or plan is None else _ran_before(plan, error),
    )
    return [Outcome("provisioning-failed", audit)]


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

    async def _provision(
        self, contract: MeshContract, context: EventContext, *, updating: bool
    ) -> Sequence[Outcome]:
        layout = product_layout(contract.domain, contract.product, contract.major)
        # An update needs the product's columns; a create in a domain known ready needs nothing.
        remembered = contract.domain in self._ready_domains and not updating
        round_trips = 0
        while True:
            plan: Plan | None = None
            try:
                if remembered:
                    observed = ASSUME_DOMAIN_READY
                else:
                    observed, observing = await observe(
                        self._gateway,
                        contract.domain,
                        contract.product,
                        contract.major,
                        query_tag=context.query_tag,
                    )
                    round_trips += observing
                planner = plan_product_updated if updating else plan_product_created
                plan = planner(contract, observed, service_role=self._service_role)
                result = await self._gateway.execute(plan, context.query_tag)
                round_trips += result.round_trips
                break
            except BreakingChange as change:
                return _failed(
                    context,
                    domain=contract.domain,
                    product=contract.product,
                    version=contract.version,
                    reason=change.reason,
                )
            except PermanentSnowflakeError as error:
                if remembered:
                    # Remembered as ready, but Snowflake disagrees (dropped by hand?): plan again from SHOW.
                    log.warning(
                        "domain %s is not as remembered (%s); observing it again", contract.domain, error
                    )
                    self._ready_domains.discard(contract.domain)
                    remembered = False
                    round_trips += 1
                    continue
                return _failed(
                    context,
                    domain=contract.domain,
                    product=contract.product,
                    version=contract.version,
                    reason=f"Snowflake refused: {error}",
                    error=error,
                    plan=plan,
                )
        self._ready_domains.add(contract.domain)
        audit = AuditProductProvisioned(
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
        )
        return [Outcome("provisioned", audit)]

    async def _retire(self, event: ProductRetired, context: EventContext) -> Sequence[Outcome]:
        layout = product_layout(event.domain, event.product, event.major)
        plan: Plan | None = None
        try:
            observed, _ = await observe(
                self._gateway, event.domain, event.product, event.major, query_tag=context.query_tag
            )
            plan = plan_product_retired(
                event.domain, event.product, event.major, observed, service_role=self._service_role
            )
            result = await self._gateway.execute(plan, context.query_tag)
        except PermanentSnowflakeError as error:
            return _failed(
                context,
                domain=event.domain,
                product=event.product,
                version=None,
                reason=f"retiring version {event.major} failed: {error}",
                error=error,
                plan=plan,
            )
        audit = AuditProductRetired(
            service=context.service,
            input=context.input,
            domain=event.domain,
            product=event.product,
            major=event.major,
            schema_name=layout.schema,
            reader_role=layout.reader_role,
            statements=_executed(result),
        )
        return [Outcome("retired", audit)]
