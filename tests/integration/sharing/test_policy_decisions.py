"""Sharing's questions, built from real events and catalog entries, answered by the real engine."""

from __future__ import annotations

from datetime import timedelta

from meshplane.common.events.access import ExternalConsumer, InternalConsumer
from meshplane.common.policy import PolicyClient
from meshplane.common.settings import PolicySettings
from meshplane.sharing.policy_input import ACCESS_DECISION, policy_input
from tests.unit.common.test_access_events import request
from tests.unit.sharing.test_policy_input import catalog_entry


async def test_the_default_policy_decides_the_examples_as_governance_would(opa_url: str) -> None:
    client = PolicyClient(PolicySettings(url=opa_url))
    orders, campaigns = catalog_entry("sales-orders"), catalog_entry("marketing-campaigns")
    try:
        # sales.orders has pii columns: the owner approves.
        pii = await client.decide(ACCESS_DECISION, policy_input(request(), orders, None))
        assert pii.result["outcome"] == "pending"
        assert pii.result["approvers"] == ["sales-data-team"]

        # marketing.campaigns is public and internal only: approved for another domain, as asked.
        asked = request(
            domain="marketing",
            product="campaigns",
            requester="sales",
            consumer=InternalConsumer(domain="sales"),
        )
        public = await client.decide(ACCESS_DECISION, policy_input(asked, campaigns, None))
        assert public.result == {
            "outcome": "approve",
            "reason": "public or internal data, for a domain of the mesh",
            "duration_seconds": 30 * 86400,
        }

        # An outside account waits for the owner even for public data.
        outside = request(
            domain="marketing",
            product="campaigns",
            requester="sales",
            consumer=ExternalConsumer(account="P.Q"),
        )
        assert (await client.decide(ACCESS_DECISION, policy_input(outside, campaigns, None))).result[
            "outcome"
        ] == "pending"

        # Unknown to the catalog, or a year long: denied, with the reason.
        unknown = await client.decide(ACCESS_DECISION, policy_input(request(), None, None))
        assert unknown.result == {"outcome": "deny", "reason": "the product is not in the catalog"}
        too_long = await client.decide(
            ACCESS_DECISION, policy_input(request(duration=timedelta(days=365)), orders, None)
        )
        assert too_long.result["outcome"] == "deny"
        assert "beyond the maximum" in too_long.result["reason"]
    finally:
        await client.aclose()
