"""The policy's input: the shape access.rego reads, from the request, the catalog and the held grant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from open_data_contract_standard.model import OpenDataContractStandard

from meshplane.common.catalog import entries
from meshplane.common.events import read_contract
from meshplane.common.events.access import ExternalConsumer
from meshplane.common.events.catalog import CatalogEntry
from meshplane.sharing.ledger import GrantKey, HeldGrant
from meshplane.sharing.policy_input import policy_input
from tests.unit.common.test_access_events import request

EXAMPLES = Path(__file__).parents[3] / "examples"


def catalog_entry(example: str) -> CatalogEntry:
    odcs = OpenDataContractStandard.from_file(str(EXAMPLES / f"{example}.odcs.yaml"))
    return entries.provisioned(None, read_contract(odcs), {}, changed_by="in-1")


def test_the_request_is_given_as_the_policy_reads_it_with_whole_seconds() -> None:
    given = policy_input(request(duration=timedelta(days=30, seconds=0.5)), None, None)

    assert given["request"] == {
        "request_id": "req-1",
        "domain": "sales",
        "product": "orders",
        "major": 1,
        "requester": "marketing",
        "purpose": "campaign attribution",
        "duration_seconds": 30 * 86400,
        "consumer": {"kind": "domain", "domain": "marketing"},
    }
    assert given["product"] is None  # the policy denies a product the catalog does not know
    assert given["held"] == []


def test_an_outside_account_is_given_by_kind_and_account() -> None:
    given = policy_input(request(consumer=ExternalConsumer(account="P.Q")), None, None)

    assert given["request"]["consumer"] == {"kind": "account", "account": "P.Q"}


def test_the_product_carries_owner_lifecycle_and_each_columns_classification_not_the_contract() -> None:
    given = policy_input(request(), catalog_entry("sales-orders"), None)

    product = given["product"]
    assert (product["domain"], product["product"], product["owner"]) == ("sales", "orders", "sales-data-team")
    [version] = product["versions"]
    assert (version["major"], version["lifecycle"]) == (1, "active")
    classifications = {c["classification"] for port in version["ports"] for c in port["columns"]}
    assert classifications == {"public", "internal", "pii"}  # as examples/sales-orders.odcs.yaml marks them
    assert "contract" not in version  # the whole document would make every decision heavier


def test_the_grant_held_on_this_version_is_given_for_an_extension() -> None:
    ends = datetime(2026, 12, 31, tzinfo=UTC)
    held = HeldGrant(GrantKey("sales.orders", 1, "domain:marketing"), ends, "req-0", "rev")

    assert policy_input(request(), None, held)["held"] == [
        {"expires_at": "2026-12-31T00:00:00+00:00", "request_id": "req-0"}
    ]
