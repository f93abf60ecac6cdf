"""Sharing's handlers: an access event → policy or owner decision → grant or revocation → audit.

Each handler decides from the catalog and the product's ledger entry, runs its plan (a grant or a
revocation: :mod:`.plan`), and returns the audit event with the product's new ledger entry beside
it (written before the input's offset is committed). A handler may run twice for one event: plans
are idempotent, a grant's end is computed from the event's own time (so the replay computes the
same), and a second approval of a held grant keeps the later end.

Who may do what is checked before anything runs: the topic an event arrives on is its publisher's
identity (a decision must come from the product's owner, :mod:`meshplane.common.events.access`),
a decision must name a pending request, and a revocation must come from the owner or the consumer.
"""

from __future__ import annotations

from datetime import UTC, timedelta

from meshplane.common.errors import PermanentError
from meshplane.common.events import (
    AccessDecided,
    AccessRequested,
    AccessRevokeRequested,
    AuditAccessDenied,
    AuditAccessFailed,
    AuditAccessGranted,
    AuditAccessPending,
    AuditAccessRevoked,
    Envelope,
    EventData,
    ExecutedStatement,
    ExternalConsumer,
    LedgerGrant,
    PendingRequest,
    SnowflakeFailure,
)
from meshplane.common.events.access import Consumer
from meshplane.common.events.access_audit import Decision
from meshplane.common.kit import Handlers
from meshplane.common.layout import product_layout
from meshplane.common.messaging import EventContext, Failure, Outcome
from meshplane.sharing.ledger import (
    GrantKey,
    decided_request,
    held_grant,
    pending_request,
    with_decided,
    with_grant,
    with_pending,
    without_grant,
)
from meshplane.sharing.plan import consumer_name, plan_grant, plan_revoke
from meshplane.sharing.sharing import Sharing, is_retired

__all__ = ["access_failed", "handlers"]

handlers: Handlers[Sharing] = Handlers()


@handlers.on(AccessRequested)
async def access_requested(event: AccessRequested, svc: Sharing, context: EventContext) -> Outcome:
    """The policy decides: approve → granted now; pending → waits for the owner; deny → denied."""
    async with svc.product_lock(event.product_id):
        return await _requested(event, svc, context)


@handlers.on(AccessDecided)
async def access_decided(event: AccessDecided, svc: Sharing, context: EventContext) -> Outcome:
    """The owner's decision on a pending request (the topic proved it is the owner's).

    A decision delivered again finds its request among the decided ones and is answered the same
    way: denied again, or granted again (the same plan, the same end).
    """
    async with svc.product_lock(event.product_id):
        return await _decided(event, svc, context)


@handlers.on(AccessRevokeRequested)
async def access_revoke_requested(
    event: AccessRevokeRequested, svc: Sharing, context: EventContext
) -> Outcome:
    """The owner or the consumer ends a grant now."""
    async with svc.product_lock(event.product_id):
        return await _revoke_requested(event, svc, context)


#: At most this many requests wait on one product, and this many from one domain: a flood of
#: requests is refused before it makes the product's record too large to write.
MAX_PENDING_PER_PRODUCT = 200
MAX_PENDING_PER_REQUESTER = 20


async def _requested(event: AccessRequested, svc: Sharing, context: EventContext) -> Outcome:
    entry = svc.entry(event.product_id)
    earlier = pending_request(entry, event.request_id) or decided_request(entry, event.request_id)
    if earlier is not None and (earlier.requester, earlier.consumer, earlier.major) != (
        event.requester,
        event.consumer,
        event.major,
    ):
        raise PermanentError(
            f"request id {event.request_id} is already used by another request on {event.product_id}: "
            "a new request needs a new id"
        )
    decision = await svc.decide(event)
    common = _common(event, event.consumer, context, decision)
    if decision.outcome == "deny":
        return Outcome.done("denied", AuditAccessDenied(**common))
    if decision.outcome == "pending" and decided_request(entry, event.request_id) is not None:
        # Taken again after its owner decided (a redelivery): the same answer, and the decision stands.
        return Outcome.done("pending", AuditAccessPending(**common))
    if decision.outcome == "pending":
        pending = PendingRequest(
            request_id=event.request_id,
            major=event.major,
            requester=event.requester,
            consumer=event.consumer,
            purpose=event.purpose,
            duration=event.duration,
            decision=decision,
            input=context.input,
        )
        waiting = entry.pending if entry else ()
        if len(waiting) >= MAX_PENDING_PER_PRODUCT or (
            sum(1 for p in waiting if p.requester == event.requester) >= MAX_PENDING_PER_REQUESTER
        ):
            raise PermanentError(
                f"too many requests wait for a decision on {event.product_id} (at most "
                f"{MAX_PENDING_PER_REQUESTER} per domain, {MAX_PENDING_PER_PRODUCT} in all): ask its owner"
            )
        entry = with_pending(entry, event.product_id, pending, changed_by=_by(context))
        return Outcome.done("pending", AuditAccessPending(**common), also=[svc.recorded(entry)])
    allowed = timedelta(seconds=decision.duration_seconds) if decision.duration_seconds else event.duration
    return await _grant(
        event, event.consumer, event.requester, min(allowed, event.duration), decision, svc, context
    )


async def _decided(event: AccessDecided, svc: Sharing, context: EventContext) -> Outcome:
    entry = svc.entry(event.product_id)
    request = pending_request(entry, event.request_id) or decided_request(entry, event.request_id)
    if request is None or request.major != event.major:
        raise PermanentError(
            f"no request {event.request_id} for {event.product_id} v{event.major} is waiting for a decision"
        )
    if request.decision.outcome != "pending" and request.decision.outcome != event.decision:
        raise PermanentError(
            f"request {event.request_id} was decided already ({request.decision.outcome}); a decision "
            "is not changed: revoke, or ask again"
        )
    decision = request.decision.model_copy(update={"outcome": event.decision, "reason": event.reason})
    if event.decision == "deny":
        decided = request.model_copy(update={"decision": decision})
        entry = with_decided(entry, event.product_id, decided, changed_by=_by(context))
        audit = AuditAccessDenied(**_common(event, request.consumer, context, decision))
        return Outcome.done("denied", audit, also=[svc.recorded(entry)])
    if is_retired(svc.catalog.catalog.get(event.product_id), event.major):
        raise PermanentError(f"{event.product_id} v{event.major} was retired while the request waited")
    duration = min(event.duration or request.duration, request.duration)
    decision = decision.model_copy(update={"duration_seconds": int(duration.total_seconds())})
    decided = request.model_copy(update={"decision": decision})
    return await _grant(event, request.consumer, request.requester, duration, decision, svc, context, decided)


async def _revoke_requested(event: AccessRevokeRequested, svc: Sharing, context: EventContext) -> Outcome:
    key = GrantKey(event.product_id, event.major, consumer_name(event.consumer))
    entry = svc.entry(event.product_id)
    held = held_grant(entry, event.product_id, key)
    allowed = {event.domain, held.requester if held else None}
    if not isinstance(event.consumer, ExternalConsumer):
        allowed.add(event.consumer.domain)
    if event.requested_by not in allowed:
        raise PermanentError(
            f"{event.requested_by} may not revoke {key.consumer}'s access to {event.product_id}: only the "
            "owner or the consumer may"
        )
    statements: tuple[ExecutedStatement, ...] = ()
    retired = is_retired(svc.catalog.catalog.get(event.product_id), event.major)
    # A retired version's reader role is gone (and its grants with it); its share is kept.
    if held is not None and (isinstance(event.consumer, ExternalConsumer) or not retired):
        layout = product_layout(event.domain, event.product, event.major)
        statements = ExecutedStatement.of_result(
            await svc.run(plan_revoke(layout, event.consumer), context.query_tag)
        )
    entry = without_grant(entry, event.product_id, key, changed_by=_by(context))
    reason = event.reason or f"asked by {event.requested_by}"
    if held is None:
        reason += " (no grant was held)"
    audit = AuditAccessRevoked(
        **_common(event, event.consumer, context, None), statements=statements, reason=reason
    )
    return Outcome.done("revoked", audit, also=[svc.recorded(entry)])


async def _grant(
    event: AccessRequested | AccessDecided,
    consumer: Consumer,
    requester: str,
    duration: timedelta,
    decision: Decision,
    svc: Sharing,
    context: EventContext,
    decided: PendingRequest | None = None,
) -> Outcome:
    """Grant in Snowflake, then record the grant (extended, if held) and announce it.

    ``decided``: the pending request this grant decides, remembered as decided.
    """
    now = svc.clock()
    started = context.time or now
    started = started if started.tzinfo else started.replace(tzinfo=UTC)
    # Counted from the event's own time (a replay computes the same end), never from a time ahead of
    # the mesh's clock (a publisher may not stretch a grant past what the policy allowed).
    expires_at = min(started, now) + duration
    if expires_at <= now:
        raise PermanentError(
            f"the access asked for would have ended at {expires_at.isoformat()}, before it could be granted"
        )
    catalog_entry = svc.catalog.catalog.get(event.product_id)
    version = (
        next((v for v in catalog_entry.versions if v.major == event.major), None) if catalog_entry else None
    )
    ports = tuple(port.name for port in version.ports) if version is not None else ()
    layout = product_layout(event.domain, event.product, event.major)
    if isinstance(consumer, ExternalConsumer) and not ports:
        raise PermanentError(
            f"{event.product_id} v{event.major} has no output port an outside account could read"
        )
    plan = plan_grant(layout, ports, consumer)
    result = await svc.run(plan, context.query_tag)
    grant = LedgerGrant(
        major=event.major,
        consumer=consumer,
        requester=requester,
        expires_at=expires_at,
        request_id=event.request_id,
        policy_revision=decision.policy_revision,
        granted=layout.share if isinstance(consumer, ExternalConsumer) else layout.reader_role,
    )
    entry = svc.entry(event.product_id)
    if decided is not None:
        entry = with_decided(entry, event.product_id, decided, changed_by=_by(context))
    entry, held = with_grant(entry, event.product_id, grant, changed_by=_by(context))
    audit = AuditAccessGranted(
        **_common(event, consumer, context, decision),
        statements=ExecutedStatement.of_result(result),
        expires_at=held.expires_at,
        grant=held.granted,
    )
    return Outcome.done("granted", audit, also=[svc.recorded(entry)])


def _common(
    event: AccessRequested | AccessDecided | AccessRevokeRequested,
    consumer: Consumer,
    context: EventContext,
    decision: Decision | None,
) -> dict[str, object]:
    return {
        "service": context.service,
        "input": context.input,
        "request_id": event.request_id,
        "domain": event.domain,
        "product": event.product,
        "major": event.major,
        "consumer": consumer,
        "decision": decision,
    }


def _by(context: EventContext) -> str:
    return context.input.id or f"{context.input.topic}/{context.input.partition}/{context.input.offset}"


def access_failed(envelope: Envelope[EventData], failure: Failure, context: EventContext) -> Outcome:
    """The one audit event of an access event that will not be tried again."""
    data = envelope.data
    if not isinstance(data, AccessRequested | AccessDecided | AccessRevokeRequested):
        raise TypeError(f"sharing does not take {envelope.type}")
    consumer = data.consumer if isinstance(data, AccessRequested | AccessRevokeRequested) else None
    audit = AuditAccessFailed(
        service=context.service,
        input=context.input,
        request_id=data.request_id,
        domain=data.domain,
        product=data.product,
        major=data.major,
        consumer=consumer,
        reason=failure.reason,
        failure=SnowflakeFailure.of(failure.error),
        statements=ExecutedStatement.ran_before(failure.error),
    )
    return Outcome.failed("access-failed", audit)
