"""Sharing's ledger record per product: grants extended never cut, pending moved to decided, and the
in-memory state that follows the topic replacing a product's grants with each new record."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from meshplane.common.events import (
    InputRef,
    InternalConsumer,
    LedgerGrant,
    PendingRequest,
)
from meshplane.common.events.access_audit import Decision
from meshplane.sharing.ledger import (
    DECIDED_KEPT,
    GrantKey,
    LedgerState,
    Recorded,
    decided_request,
    held_grant,
    pending_request,
    with_decided,
    with_grant,
    with_pending,
    without_grant,
)

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
PRODUCT = "sales.orders"
KEY = GrantKey(PRODUCT, 1, "domain:marketing")
WHERE = Recorded(3, InputRef(id="rec-1", topic="mesh.sharing-ledger", partition=3, offset=7))


def grant(hours: float, request: str = "r1", consumer: str = "marketing") -> LedgerGrant:
    return LedgerGrant(
        major=1,
        consumer=InternalConsumer(domain=consumer),
        requester=consumer,
        expires_at=T0 + timedelta(hours=hours),
        request_id=request,
        policy_revision="rev-1",
        granted="SALES__ORDERS_V1_READER",
    )


def pending(request: str) -> PendingRequest:
    return PendingRequest(
        request_id=request,
        major=1,
        requester="marketing",
        consumer=InternalConsumer(domain="marketing"),
        purpose="attribution",
        duration=timedelta(days=1),
        decision=Decision(outcome="pending", reason="pii", policy_revision="rev-1", approvers=("team",)),
        input=InputRef(id=f"in-{request}", topic="mesh.marketing.access", partition=0, offset=0),
    )


def test_an_entry_starts_from_nothing_and_a_later_end_extends_a_held_grant() -> None:
    entry, held = with_grant(None, PRODUCT, grant(1), changed_by="e1")
    assert (entry.domain, entry.product, entry.changed_by) == ("sales", "orders", "e1")
    assert held == grant(1)

    entry, held = with_grant(entry, PRODUCT, grant(5, "r2"), changed_by="e2")
    assert held.request_id == "r2"
    entry, held = with_grant(entry, PRODUCT, grant(2, "r3"), changed_by="e3")
    assert held.request_id == "r2"  # a shorter approval never cuts a held grant
    assert len(entry.grants) == 1
    assert entry.changed_by == "e3"

    entry, _ = with_grant(entry, PRODUCT, grant(1, "r4", consumer="finance"), changed_by="e4")
    assert len(entry.grants) == 2
    entry = without_grant(entry, PRODUCT, KEY, changed_by="e5")
    assert held_grant(entry, PRODUCT, KEY) is None
    assert [g.requester for g in entry.grants] == ["finance"]


def test_a_decided_request_leaves_pending_and_only_the_latest_decisions_are_kept() -> None:
    entry = with_pending(None, PRODUCT, pending("r1"), changed_by="e1")
    entry = with_pending(entry, PRODUCT, pending("r1"), changed_by="e1")  # taken twice: once
    assert [p.request_id for p in entry.pending] == ["r1"]

    entry = with_decided(entry, PRODUCT, pending("r1"), changed_by="e2")
    assert pending_request(entry, "r1") is None
    assert decided_request(entry, "r1") == pending("r1")

    for n in range(DECIDED_KEPT + 5):
        entry = with_decided(entry, PRODUCT, pending(f"x{n}"), changed_by="e3")
    assert len(entry.decided) == DECIDED_KEPT
    assert decided_request(entry, "r1") is None  # the oldest decision was forgotten
    assert entry.decided[-1].request_id == f"x{DECIDED_KEPT + 4}"


def test_the_state_replaces_a_products_grants_with_each_new_record() -> None:
    state = LedgerState()
    first, _ = with_grant(None, PRODUCT, grant(1), changed_by="e1")
    state.put(first, WHERE)
    assert state.grants.held(KEY) is not None
    assert state.recorded(PRODUCT) == WHERE

    state.put(without_grant(first, PRODUCT, KEY, changed_by="e2"))  # an own write, not read back yet
    assert state.grants.held(KEY) is None
    assert state.grants.due(T0 + timedelta(hours=2)) == []
    assert state.recorded(PRODUCT) == WHERE  # still where it was last read

    state.discard(PRODUCT)
    assert state.entry(PRODUCT) is None
    assert len(state) == 0
