"""The provisioner's handlers: one product lifecycle event → observe → plan → execute → audit.

Each handler is a few lines: the planner (:mod:`.plan`) decides, :class:`.Provisioning` observes
and runs, and the result becomes an audit event and the product's new catalog entry (written
in the same batch, before the input's offset is committed). A failure is raised, not handled here: a refused
update (:class:`~meshplane.provisioner.plan.BreakingChange`) and Snowflake's permanent errors
become ``provisioning-failed`` through :func:`provisioning_failed`, and the kit retries the rest
(see :mod:`meshplane.common.errors`). Every handler may run more than once for the same event,
which is safe because plans are idempotent and audit ids are derived from the input.
"""

from __future__ import annotations

from meshplane.common.catalog import entries
from meshplane.common.events import (
    AuditProductProvisioned,
    AuditProductProvisioningFailed,
    AuditProductRetired,
    Envelope,
    EventData,
    ExecutedStatement,
    ProductContractEvent,
    ProductCreated,
    ProductRetired,
    ProductUpdated,
    SnowflakeFailure,
)
from meshplane.common.kit import Handlers
from meshplane.common.layout import product_layout
from meshplane.common.messaging import EventContext, Failure, Outcome
from meshplane.provisioner.plan import (
    ContractPlanner,
    plan_product_created,
    plan_product_retired,
    plan_product_updated,
)
from meshplane.provisioner.provisioning import Provisioning

__all__ = ["handlers", "provisioning_failed"]

handlers: Handlers[Provisioning] = Handlers()


@handlers.on(ProductCreated)
async def product_created(event: ProductCreated, svc: Provisioning, context: EventContext) -> Outcome:
    """Everything the product needs; its domain's setup too, the first time."""
    return await _provision(event, svc, context, plan_product_created, observe_first=False)


@handlers.on(ProductUpdated)
async def product_updated(event: ProductUpdated, svc: Provisioning, context: EventContext) -> Outcome:
    """What the contract added; refused (BreakingChange) if it would break readers."""
    # Observed even in a known domain: the plan compares the product's columns with the contract's.
    return await _provision(event, svc, context, plan_product_updated, observe_first=True)


@handlers.on(ProductRetired)
async def product_retired(event: ProductRetired, svc: Provisioning, context: EventContext) -> Outcome:
    """The version's reader role is dropped and its schema tagged retired; the data is kept."""
    applied = await svc.apply(
        event.domain,
        event.product,
        event.major,
        lambda observed: plan_product_retired(
            event.domain, event.product, event.major, observed, service_role=svc.service_role
        ),
        context.query_tag,
        observe_first=True,  # revokes are planned only for grants that exist
        readies_domain=False,
    )
    layout = product_layout(event.domain, event.product, event.major)
    audit = AuditProductRetired(
        service=context.service,
        input=context.input,
        domain=event.domain,
        product=event.product,
        major=event.major,
        schema_name=layout.schema,
        reader_role=layout.reader_role,
        statements=ExecutedStatement.of_result(applied.result),
    )
    known = svc.catalog.catalog.get(audit.event_key)
    if known is None:  # never provisioned through the mesh: nothing in the catalog to retire
        return Outcome.done("retired", audit)
    entry = entries.retired(known, event.major, changed_by=context.input.id or "")
    return Outcome.done("retired", audit, also=[svc.catalogued(entry)])


async def _provision(
    event: ProductContractEvent,
    svc: Provisioning,
    context: EventContext,
    planner: ContractPlanner,
    *,
    observe_first: bool,
) -> Outcome:
    contract = event.mesh
    svc.check_inputs(contract)
    applied = await svc.apply(
        contract.domain,
        contract.product,
        contract.major,
        lambda observed: planner(contract, observed, service_role=svc.service_role),
        context.query_tag,
        observe_first=observe_first,
    )
    layout = product_layout(contract.domain, contract.product, contract.major)
    audit = AuditProductProvisioned(
        service=context.service,
        input=context.input,
        domain=contract.domain,
        product=contract.product,
        version=contract.version,
        database=layout.domain.database,
        schema_name=layout.schema,
        reader_role=layout.reader_role,
        domain_created=not applied.observed.domain_ready,
        round_trips=applied.requests.round_trips,
        http_requests=applied.requests.http,
        statements=ExecutedStatement.of_result(applied.result),
    )
    entry = entries.provisioned(
        svc.catalog.catalog.get(contract.product_id),
        contract,
        event.contract.model_dump(mode="json", by_alias=True, exclude_none=True),
        changed_by=context.input.id or "",
    )
    return Outcome.done("provisioned", audit, also=[svc.catalogued(entry)])


def provisioning_failed(envelope: Envelope[EventData], failure: Failure, context: EventContext) -> Outcome:
    """The one audit event of a product event that will not be tried again."""
    data = envelope.data
    version: str | None = None
    reason = failure.reason
    if isinstance(data, ProductContractEvent):
        domain, product, version = data.mesh.domain, data.mesh.product, data.mesh.version
    elif isinstance(data, ProductRetired):
        domain, product = data.domain, data.product
        reason = f"retiring version {data.major} failed: {reason}"
    else:  # the subscription takes product events only
        raise TypeError(f"the provisioner does not take {envelope.type}")
    audit = AuditProductProvisioningFailed(
        service=context.service,
        input=context.input,
        domain=domain,
        product=product,
        version=version,
        reason=reason,
        failure=SnowflakeFailure.of(failure.error),
        statements=ExecutedStatement.ran_before(failure.error),
    )
    return Outcome.failed("provisioning-failed", audit)
