"""Drift on a reader role: SHOW GRANTS OF ROLE rows against the domains the mesh granted it to."""

from __future__ import annotations

from meshplane.common.layout import product_layout
from meshplane.sharing.plan import plan_drift, show_reader_grants

ORDERS = product_layout("sales", "orders", 1)


def row(kind: str, name: str) -> dict[str, str]:
    return {"role": ORDERS.reader_role, "granted_to": kind, "grantee_name": name, "granted_by": "X"}


def test_the_statement_reads_who_holds_the_reader_role() -> None:
    assert show_reader_grants(ORDERS).sql == 'SHOW GRANTS OF ROLE "SALES__ORDERS_V1_READER"'


def test_nothing_differs_nothing_runs() -> None:
    repair = plan_drift(ORDERS, ["marketing"], [row("ROLE", "MARKETING_CONSUMER")])
    assert repair.drift == ()
    assert len(repair.plan) == 0


def test_a_removed_grant_is_restored_before_added_ones_are_revoked() -> None:
    repair = plan_drift(
        ORDERS,
        ["marketing", "finance"],
        [row("ROLE", "FINANCE_CONSUMER"), row("ROLE", "INTERN"), row("USER", "BOB")],
    )
    assert {(d.kind, d.grantee) for d in repair.drift} == {
        ("removed-by-hand", "ROLE MARKETING_CONSUMER"),
        ("added-by-hand", "ROLE INTERN"),
        ("added-by-hand", "USER BOB"),
    }
    assert [s.sql for s in repair.plan] == [
        'GRANT ROLE "SALES__ORDERS_V1_READER" TO ROLE "MARKETING_CONSUMER"',
        'REVOKE ROLE "SALES__ORDERS_V1_READER" FROM ROLE "INTERN"',
        'REVOKE ROLE "SALES__ORDERS_V1_READER" FROM USER "BOB"',
    ]


def test_a_holder_the_mesh_cannot_name_exactly_is_reported_and_left_alone() -> None:
    holders = [row("USER", "jane.doe@corp.com"), row("ROLE", "MixedCase"), row("APPLICATION", "APP")]
    repair = plan_drift(ORDERS, [], holders)
    assert len(repair.drift) == 3  # every one reported, in the audit event
    assert len(repair.plan) == 0  # none revoked: upper-casing or quoting would name another object
