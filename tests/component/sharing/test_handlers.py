"""Sharing's handlers and sweep on fakes: a scripted policy, a recording gateway, the ledger in memory.

Milliseconds each; the same paths run on real Kafka, OPA and snowlocal in tests/e2e/test_sharing.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from meshplane.common.catalog import entries
from meshplane.common.errors import PermanentError, TemporaryError
from meshplane.common.events import (
    AccessDecided,
    AccessRevokeRequested,
    AuditAccessDenied,
    AuditAccessExpired,
    AuditAccessFailed,
    AuditAccessGranted,
    AuditAccessPending,
    AuditAccessRevoked,
    EventData,
    ExternalConsumer,
    InputRef,
    InternalConsumer,
    ServiceRef,
    SharingLedgerEntry,
    decode,
)
from meshplane.common.kit import Handler
from meshplane.common.messaging import Emitter, EventContext, Outcome, RecordingSink
from meshplane.common.policy import PolicyDecision
from meshplane.common.snowflake.errors import PermanentSnowflakeError, TransientSnowflakeError
from meshplane.common.telemetry import ServiceMetrics
from meshplane.sharing.handlers import (
    MAX_PENDING_PER_REQUESTER,
    access_decided,
    access_requested,
    access_revoke_requested,
)
from meshplane.sharing.ledger import GrantKey
from meshplane.sharing.sharing import Sharing
from tests.fakes import MemoryLedger, RecordingGateway, StaticCatalog
from tests.unit.common.test_access_events import request
from tests.unit.sharing.test_policy_input import catalog_entry

ASKED_AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
KEY = GrantKey("sales.orders", 1, "domain:marketing")
GRANT_SQL = 'GRANT ROLE "SALES__ORDERS_V1_READER" TO ROLE "MARKETING_CONSUMER";'
REVOKE_SQL = 'REVOKE ROLE "SALES__ORDERS_V1_READER" FROM ROLE "MARKETING_CONSUMER";'


class ScriptedPolicy:
    def __init__(self, *answers: dict[str, Any] | Exception) -> None:
        self.answers = list(answers)
        self.asked: list[dict[str, Any]] = []

    async def decide(self, path: str, input_: dict[str, Any]) -> PolicyDecision:
        self.asked.append(input_)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return PolicyDecision(answer, revision="rev-1")


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def sharing(
    policy: ScriptedPolicy, *, retired: bool = False
) -> tuple[Sharing, RecordingGateway, RecordingSink]:
    entry = catalog_entry("sales-orders")
    if retired:
        entry = entries.retired(entry, 1, changed_by="in-2")
    gateway, sink = RecordingGateway(), RecordingSink()
    svc = Sharing(
        gateway,
        policy=policy,
        catalog=StaticCatalog(entry),
        ledger=MemoryLedger(),
        emitter=Emitter(ServiceRef(name="sharing", version="test"), sink, ServiceMetrics("sharing")),
        clock=Clock(ASKED_AT + timedelta(seconds=1)),
    )
    return svc, gateway, sink


def context(event_id: str = "in-1", at: datetime = ASKED_AT) -> EventContext:
    return EventContext(
        service=ServiceRef(name="sharing", version="test"),
        input=InputRef(id=event_id, topic="mesh.marketing.access", partition=0, offset=0),
        trace_id=None,
        time=at,
    )


async def one(handler: Handler[Any, Sharing], event: EventData, svc: Sharing, ctx: EventContext) -> Outcome:
    """The one outcome of a sharing handler (each returns exactly one)."""
    result = await handler(event, svc, ctx)
    assert isinstance(result, Outcome)
    return result


def ledger_entry(outcome: Outcome) -> SharingLedgerEntry:
    (publication,) = outcome.also
    assert isinstance(publication.data, SharingLedgerEntry)
    return publication.data


def decided(decision: str = "approve", **changes: Any) -> AccessDecided:
    fields: dict[str, Any] = {
        "request_id": "req-1",
        "domain": "sales",
        "product": "orders",
        "major": 1,
        "decision": decision,
        "reason": "agreed use",
    }
    return AccessDecided(**(fields | changes))


APPROVE = {"outcome": "approve", "reason": "internal data", "duration_seconds": 7 * 86400}
PENDING = {"outcome": "pending", "reason": "pii needs the owner", "approvers": ["sales-data-team"]}


async def test_an_approval_grants_the_reader_role_until_the_allowed_end_and_records_it() -> None:
    svc, gateway, _ = sharing(ScriptedPolicy(APPROVE))

    outcome = await one(access_requested, request(duration=timedelta(days=30)), svc, context())

    audit = outcome.data
    assert isinstance(audit, AuditAccessGranted)
    assert gateway.statements == [GRANT_SQL]
    # The policy allowed 7 of the 30 days asked, counted from the request's own time.
    assert audit.expires_at == ASKED_AT + timedelta(days=7)
    assert audit.decision is not None
    assert audit.decision.policy_revision == "rev-1"
    (grant,) = ledger_entry(outcome).grants
    assert grant.expires_at == audit.expires_at
    assert svc.ledger.state.grants.held(KEY) is not None


async def test_a_denial_runs_nothing_and_records_nothing() -> None:
    svc, gateway, _ = sharing(ScriptedPolicy({"outcome": "deny", "reason": "the duration must be positive"}))

    outcome = await one(access_requested, request(), svc, context())

    assert isinstance(outcome.data, AuditAccessDenied)
    assert outcome.data.decision is not None
    assert outcome.data.decision.reason == "the duration must be positive"
    assert gateway.statements == []
    assert outcome.also == ()


async def test_an_unreachable_policy_engine_is_a_temporary_error_never_an_approval() -> None:
    svc, gateway, _ = sharing(ScriptedPolicy(TemporaryError("OPA did not answer")))

    with pytest.raises(TemporaryError):
        await one(access_requested, request(), svc, context())
    assert gateway.statements == []


async def test_pending_then_approved_by_the_owner_then_the_decision_delivered_again() -> None:
    svc, gateway, _ = sharing(ScriptedPolicy(PENDING))
    pending = await one(access_requested, request(), svc, context())
    assert isinstance(pending.data, AuditAccessPending)
    assert gateway.statements == []
    assert [p.request_id for p in ledger_entry(pending).pending] == ["req-1"]

    approval = decided(duration=timedelta(days=3))
    first = await one(access_decided, approval, svc, context("dec-1"))
    again = await one(access_decided, approval, svc, context("dec-1"))

    assert isinstance(first.data, AuditAccessGranted)
    assert isinstance(again.data, AuditAccessGranted)
    assert first.data.expires_at == again.data.expires_at == ASKED_AT + timedelta(days=3)
    assert gateway.statements == [GRANT_SQL, GRANT_SQL]  # the same idempotent grant, run again
    assert ledger_entry(again).pending == ()
    # Once approved, a denial does not change it: that is what a revocation is for.
    with pytest.raises(PermanentError, match="decided already"):
        await one(access_decided, decided("deny"), svc, context("dec-2"))


async def test_a_decision_on_no_pending_request_or_a_retired_version_is_refused() -> None:
    svc, gateway, _ = sharing(ScriptedPolicy())
    with pytest.raises(PermanentError, match="waiting for a decision"):
        await one(access_decided, decided(), svc, context("dec-1"))

    retired, gateway, _ = sharing(ScriptedPolicy(PENDING))
    await one(access_requested, request(), retired, context())
    retired.catalog = StaticCatalog(entries.retired(catalog_entry("sales-orders"), 1, changed_by="in-2"))
    with pytest.raises(PermanentError, match="retired"):
        await one(access_decided, decided(), retired, context("dec-1"))
    assert gateway.statements == []


async def test_only_the_owner_or_the_consumer_may_revoke() -> None:
    svc, gateway, _ = sharing(ScriptedPolicy(APPROVE))
    await one(access_requested, request(), svc, context())

    def revoke(by: str) -> AccessRevokeRequested:
        return AccessRevokeRequested(
            request_id="rev-1",
            domain="sales",
            product="orders",
            major=1,
            requested_by=by,
            consumer=InternalConsumer(domain="marketing"),
        )

    with pytest.raises(PermanentError, match="only the owner or the consumer"):
        await one(access_revoke_requested, revoke("finance"), svc, context("r-0"))
    outcome = await one(access_revoke_requested, revoke("marketing"), svc, context("r-1"))

    assert isinstance(outcome.data, AuditAccessRevoked)
    assert gateway.statements == [GRANT_SQL, REVOKE_SQL]
    assert svc.ledger.state.grants.held(KEY) is None


async def test_the_sweep_revokes_what_expired_on_its_own_partitions_only_once() -> None:
    svc, gateway, sink = sharing(ScriptedPolicy(APPROVE))
    await one(access_requested, request(duration=timedelta(days=1)), svc, context())
    svc.clock = Clock(ASKED_AT + timedelta(days=1, seconds=1))

    assert await svc.sweep(frozenset({1})) == 0  # another replica's partition
    assert await svc.sweep(frozenset({0})) == 1
    assert await svc.sweep(frozenset({0})) == 0  # done once

    assert gateway.statements == [GRANT_SQL, REVOKE_SQL]
    audits = [decode(r).data for r in sink.on("mesh.audit")]
    assert [type(a) for a in audits] == [AuditAccessExpired]
    assert isinstance(audits[0], AuditAccessExpired)
    assert audits[0].expired_at == ASKED_AT + timedelta(days=1)
    (written,) = [decode(r).data for r in sink.on(svc.ledger.topic)]
    assert isinstance(written, SharingLedgerEntry)
    assert written.grants == ()


async def test_a_retired_version_ends_its_grants_without_a_statement_the_role_went_with_it() -> None:
    svc, gateway, sink = sharing(ScriptedPolicy(APPROVE))
    await one(access_requested, request(), svc, context())
    svc.catalog = StaticCatalog(entries.retired(catalog_entry("sales-orders"), 1, changed_by="in-2"))

    assert await svc.sweep(frozenset({0})) == 1

    assert gateway.statements == [GRANT_SQL]  # DROP ROLE (the provisioner's) took the grant with it
    (audit,) = [decode(r).data for r in sink.on("mesh.audit")]
    assert isinstance(audit, AuditAccessRevoked)
    assert "retired" in audit.reason


async def test_a_revocation_snowflake_refuses_is_audited_and_does_not_hold_up_the_next_expiry() -> None:
    svc, gateway, sink = sharing(ScriptedPolicy(APPROVE, APPROVE))
    await one(access_requested, request(duration=timedelta(hours=1)), svc, context())
    finance = request(request_id="req-2", requester="finance", consumer=InternalConsumer(domain="finance"))
    await one(
        access_requested, finance.model_copy(update={"duration": timedelta(hours=2)}), svc, context("in-2")
    )
    svc.clock = Clock(ASKED_AT + timedelta(days=1))
    # The first revocation fails for good (the consumer role was dropped by hand, say).
    gateway.failures = [
        PermanentSnowflakeError("Role 'MARKETING_CONSUMER' does not exist or not authorized.")
    ]

    assert await svc.sweep(frozenset({0})) == 1

    audits = [decode(r).data for r in sink.on("mesh.audit")]
    assert [type(a).__name__ for a in audits] == ["AuditAccessFailed", "AuditAccessExpired"]
    assert isinstance(audits[0], AuditAccessFailed)
    assert "an operator must check it" in audits[0].reason
    assert len(svc.ledger.state.grants) == 0  # neither is retried for ever


async def test_the_sweep_does_not_end_a_grant_extended_since_it_was_found() -> None:
    svc, gateway, sink = sharing(ScriptedPolicy(APPROVE, APPROVE))
    await one(access_requested, request(duration=timedelta(hours=1)), svc, context())
    entry = svc.entry("sales.orders")
    assert entry is not None
    (found,) = entry.grants
    later = request(request_id="req-2", duration=timedelta(days=1))
    await one(access_requested, later, svc, context("in-2", at=ASKED_AT + timedelta(minutes=59)))

    assert await svc._end("sales.orders", found, "expired") == 0

    assert gateway.statements == [GRANT_SQL, GRANT_SQL]  # no REVOKE
    assert sink.on("mesh.audit") == []
    assert svc.ledger.state.grants.held(KEY) is not None


async def test_revoking_an_outside_account_on_a_retired_version_still_removes_it_from_the_share() -> None:
    svc, gateway, _ = sharing(
        ScriptedPolicy({"outcome": "approve", "reason": "ok", "duration_seconds": 3600})
    )
    partner = ExternalConsumer(account="PARTNER_ORG.ACME")
    await one(access_requested, request(consumer=partner), svc, context())
    svc.catalog = StaticCatalog(entries.retired(catalog_entry("sales-orders"), 1, changed_by="in-2"))
    revoke = AccessRevokeRequested(
        request_id="rev-1", domain="sales", product="orders", major=1, requested_by="sales", consumer=partner
    )

    await one(access_revoke_requested, revoke, svc, context("r-1"))

    assert (
        gateway.statements[-1]
        == 'ALTER SHARE IF EXISTS "SALES__ORDERS_V1_SHARE" REMOVE ACCOUNTS = PARTNER_ORG.ACME;'
    )


async def test_a_request_id_already_used_by_another_domain_is_refused() -> None:
    svc, _, _ = sharing(ScriptedPolicy(PENDING, PENDING))
    await one(access_requested, request(), svc, context())
    hijack = request(requester="finance", consumer=InternalConsumer(domain="finance"))

    with pytest.raises(PermanentError, match="already used by another request"):
        await one(access_requested, hijack, svc, context("in-2"))
    entry = svc.entry("sales.orders")
    assert entry is not None
    assert [(p.request_id, p.requester) for p in entry.pending] == [("req-1", "marketing")]


async def test_a_flood_of_pending_requests_from_one_domain_is_cut_off() -> None:
    svc, _, _ = sharing(ScriptedPolicy(*[PENDING] * (MAX_PENDING_PER_REQUESTER + 1)))
    for n in range(MAX_PENDING_PER_REQUESTER):
        await one(access_requested, request(request_id=f"req-{n}"), svc, context(f"in-{n}"))
    with pytest.raises(PermanentError, match="too many requests wait"):
        await one(access_requested, request(request_id="one-more"), svc, context("in-x"))


async def test_a_grant_is_never_counted_from_a_time_ahead_of_the_mesh() -> None:
    svc, _, _ = sharing(ScriptedPolicy(APPROVE))
    now = ASKED_AT + timedelta(seconds=1)  # the fakes' clock
    outcome = await one(access_requested, request(), svc, context(at=now + timedelta(minutes=55)))
    assert isinstance(outcome.data, AuditAccessGranted)
    assert outcome.data.expires_at == now + timedelta(days=7)


async def test_snowflake_unavailable_while_granting_is_a_temporary_error_and_nothing_is_recorded() -> None:
    svc, gateway, _ = sharing(ScriptedPolicy(APPROVE))
    gateway.failures = [TransientSnowflakeError("Snowflake is not reachable")]

    with pytest.raises(TemporaryError):
        await one(access_requested, request(), svc, context())

    assert svc.entry("sales.orders") is None  # the event is taken again; nothing half-recorded
