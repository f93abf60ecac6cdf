"""The ledger of held grants: extension keeps the later end, sweeps find what is due and only that."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from meshplane.sharing.ledger import GrantKey, GrantLedger, HeldGrant

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
ORDERS_TO_MARKETING = GrantKey("sales.orders", 1, "domain:marketing")
ORDERS_TO_PARTNER = GrantKey("sales.orders", 1, "account:P.Q")
ORDERS_V2_TO_MARKETING = GrantKey("sales.orders", 2, "domain:marketing")


def held(key: GrantKey, hours: float, request: str = "r1") -> HeldGrant:
    return HeldGrant(key, T0 + timedelta(hours=hours), request, "rev-1")


def test_a_new_approval_extends_a_held_grant_and_a_shorter_one_never_cuts_it() -> None:
    ledger = GrantLedger()
    ledger.grant(held(ORDERS_TO_MARKETING, 1))

    assert ledger.grant(held(ORDERS_TO_MARKETING, 5, "r2")).expires_at == T0 + timedelta(hours=5)
    kept = ledger.grant(held(ORDERS_TO_MARKETING, 2, "r3"))

    assert kept.expires_at == T0 + timedelta(hours=5)
    assert kept.request_id == "r2"
    assert len(ledger) == 1


def test_due_returns_what_has_ended_earliest_first_and_keeps_it_until_revoked() -> None:
    ledger = GrantLedger()
    ledger.grant(held(ORDERS_TO_MARKETING, 2))
    ledger.grant(held(ORDERS_TO_PARTNER, 1))
    ledger.grant(held(ORDERS_V2_TO_MARKETING, 10))

    now = T0 + timedelta(hours=3)
    assert [g.key for g in ledger.due(now)] == [ORDERS_TO_PARTNER, ORDERS_TO_MARKETING]
    # A sweep that failed before revoking finds the same grants again.
    assert [g.key for g in ledger.due(now)] == [ORDERS_TO_PARTNER, ORDERS_TO_MARKETING]
    assert [g.key for g in ledger.due(now, limit=1)] == [ORDERS_TO_PARTNER]

    ledger.revoke(ORDERS_TO_PARTNER)
    ledger.revoke(ORDERS_TO_MARKETING)
    assert ledger.due(now) == []
    assert [g.key for g in ledger.due(T0 + timedelta(hours=10))] == [ORDERS_V2_TO_MARKETING]


def test_an_extended_grant_is_not_due_at_its_old_end() -> None:
    ledger = GrantLedger()
    ledger.grant(held(ORDERS_TO_MARKETING, 1))
    ledger.grant(held(ORDERS_TO_MARKETING, 8))

    assert ledger.due(T0 + timedelta(hours=2)) == []
    assert [g.expires_at for g in ledger.due(T0 + timedelta(hours=8))] == [T0 + timedelta(hours=8)]


def test_a_grant_revoked_and_granted_again_to_the_same_end_is_due_once() -> None:
    ledger = GrantLedger()
    ledger.grant(held(ORDERS_TO_MARKETING, 1))
    ledger.revoke(ORDERS_TO_MARKETING)
    ledger.grant(held(ORDERS_TO_MARKETING, 1, "r2"))

    assert [g.request_id for g in ledger.due(T0 + timedelta(hours=1))] == ["r2"]


def test_revoking_what_is_not_held_is_a_no_op_so_a_revocation_may_run_twice() -> None:
    ledger = GrantLedger()
    ledger.grant(held(ORDERS_TO_MARKETING, 1))

    assert ledger.revoke(ORDERS_TO_MARKETING) is not None
    assert ledger.revoke(ORDERS_TO_MARKETING) is None
    assert ledger.of_consumer("domain:marketing") == []


def test_grants_are_found_by_product_version_and_by_consumer() -> None:
    ledger = GrantLedger()
    for key in (ORDERS_TO_MARKETING, ORDERS_TO_PARTNER, ORDERS_V2_TO_MARKETING):
        ledger.grant(held(key, 1))

    assert [g.key for g in ledger.on_product("sales.orders", 1)] == [ORDERS_TO_PARTNER, ORDERS_TO_MARKETING]
    assert [g.key for g in ledger.of_consumer("domain:marketing")] == [
        ORDERS_TO_MARKETING,
        ORDERS_V2_TO_MARKETING,
    ]
    assert ledger.on_product("sales.orders", 3) == []


def test_an_end_without_a_time_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="aware datetime"):
        GrantLedger().grant(HeldGrant(ORDERS_TO_MARKETING, datetime(2026, 12, 1), "r1", "rev-1"))


def test_many_extensions_leave_the_heap_bounded_and_the_answers_right() -> None:
    ledger = GrantLedger()
    for hours in range(1, 10_001):
        ledger.grant(held(ORDERS_TO_MARKETING, hours))

    assert len(ledger._ends) <= 2 * len(ledger) + 65  # stale entries are compacted away
    assert ledger.due(T0 + timedelta(hours=9_999)) == []
    assert len(ledger.due(T0 + timedelta(hours=10_000))) == 1
