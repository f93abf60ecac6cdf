"""Sharing's plans: a domain gets the reader role, an outside account the product's secure share."""

from __future__ import annotations

import pytest

from meshplane.common.events.access import ExternalConsumer, InternalConsumer
from meshplane.common.layout import product_layout
from meshplane.common.snowflake.intents import GrantRole, Object, RevokeRole, Share, ShareAccounts, ShareGrant
from meshplane.sharing.plan import consumer_name, plan_grant, plan_revoke

ORDERS = product_layout("sales", "orders", 1)
PORTS = ("order_lines", "customers")
MARKETING = InternalConsumer(domain="marketing")
PARTNER = ExternalConsumer(account="partner_org.eu_account")


def test_a_domain_is_granted_the_products_reader_role_and_nothing_else() -> None:
    plan = plan_grant(ORDERS, PORTS, MARKETING)

    assert plan.intents == (GrantRole("SALES__ORDERS_V1_READER", "MARKETING_CONSUMER"),)
    assert [s.sql for s in plan.statements] == [
        'GRANT ROLE "SALES__ORDERS_V1_READER" TO ROLE "MARKETING_CONSUMER"'
    ]


def test_a_domain_loses_the_reader_role_at_revocation() -> None:
    plan = plan_revoke(ORDERS, MARKETING)

    assert plan.intents == (RevokeRole("SALES__ORDERS_V1_READER", "MARKETING_CONSUMER"),)


def test_an_outside_account_gets_the_versions_share_holding_exactly_the_ports_views() -> None:
    plan = plan_grant(ORDERS, PORTS, PARTNER)

    share = "SALES__ORDERS_V1_SHARE"
    assert plan.intents[0] == Share(share, "meshplane: sales.orders v1, outside accounts granted by sharing")
    grants = {i for i in plan.intents if isinstance(i, ShareGrant)}
    assert grants == {
        ShareGrant("USAGE", Object("DATABASE", ("SALES",)), share),
        ShareGrant("USAGE", Object("SCHEMA", ("SALES", "ORDERS_V1")), share),
        ShareGrant("SELECT", Object("VIEW", ("SALES", "ORDERS_V1", "ORDER_LINES")), share),
        ShareGrant("SELECT", Object("VIEW", ("SALES", "ORDERS_V1", "CUSTOMERS")), share),
    }
    # The account is added last: it never sees a share whose contents are still being granted.
    assert plan.intents[-1] == ShareAccounts(share, "ADD", ("partner_org.eu_account",))
    assert "ORDER_LINES_DATA" not in plan.compile()  # the table behind the view is never shared


def test_an_outside_account_is_removed_from_the_share_which_stays_for_the_next_approval() -> None:
    plan = plan_revoke(ORDERS, PARTNER)

    assert plan.intents == (ShareAccounts("SALES__ORDERS_V1_SHARE", "REMOVE", ("partner_org.eu_account",)),)
    assert [s.sql for s in plan.statements] == [
        'ALTER SHARE IF EXISTS "SALES__ORDERS_V1_SHARE" REMOVE ACCOUNTS = PARTNER_ORG.EU_ACCOUNT'
    ]


def test_a_product_without_an_output_port_is_not_shared_with_an_outside_account() -> None:
    with pytest.raises(ValueError, match="no output port to share"):
        plan_grant(ORDERS, (), PARTNER)


def test_each_version_has_its_own_share_and_reader_role() -> None:
    v2 = product_layout("sales", "orders", 2)

    assert {v2.share, v2.reader_role}.isdisjoint({ORDERS.share, ORDERS.reader_role})


def test_consumers_are_named_apart_by_kind_and_accounts_case_insensitively() -> None:
    assert consumer_name(MARKETING) == "domain:marketing"
    assert consumer_name(PARTNER) == consumer_name(ExternalConsumer(account="PARTNER_ORG.EU_ACCOUNT"))
    assert consumer_name(PARTNER) == "account:PARTNER_ORG.EU_ACCOUNT"
