"""The ledger reader never sets a product back to an older record while its own latest write is on its
way, and the sweep's due list counts only the grants of the partitions a replica owns."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from meshplane.common.events import KafkaRecord, SharingLedgerEntry, encode
from meshplane.common.settings import KafkaSettings
from meshplane.sharing.ledger import GrantKey, GrantLedger, HeldGrant, with_grant, without_grant
from meshplane.sharing.ledger_topic import LedgerReader
from tests.unit.sharing.test_ledger import T0
from tests.unit.sharing.test_ledger_entries import KEY, PRODUCT, grant

TOPIC = "mesh.sharing-ledger"


def read_back(entry: SharingLedgerEntry, offset: int) -> KafkaRecord:
    return dataclasses.replace(encode(entry, topic=TOPIC, source="/tests"), partition=0, offset=offset)


def test_an_older_record_read_back_does_not_undo_a_newer_own_write() -> None:
    reader = LedgerReader(KafkaSettings(bootstrap_servers="unused:9092"), client_id="t", topic=TOPIC)
    first, _ = with_grant(None, PRODUCT, grant(1), changed_by="e1")
    second = without_grant(first, PRODUCT, KEY, changed_by="e2")
    reader.remember(first)
    reader.remember(second)  # written, not read back yet

    reader._apply(read_back(first, 0))  # the older write comes back first
    assert reader.state.grants.held(KEY) is None  # still the newer state

    reader._apply(read_back(second, 1))
    assert reader.state.entry(PRODUCT) == second
    recorded = reader.state.recorded(PRODUCT)
    assert recorded is not None
    assert recorded.record.offset == 1

    # Once its own write is back, another replica's later record is taken as it comes.
    third, _ = with_grant(second, PRODUCT, grant(3, "r3"), changed_by="other-replica")
    reader._apply(read_back(third, 2))
    assert reader.state.entry(PRODUCT) == third


def test_due_counts_only_the_grants_kept_against_the_limit() -> None:
    ledger = GrantLedger()
    for i in range(5):
        ledger.grant(
            HeldGrant(GrantKey(f"other.p{i}", 1, "domain:x"), T0 + timedelta(minutes=i), f"o{i}", "r")
        )
    mine = GrantKey("mine.p", 1, "domain:x")
    ledger.grant(HeldGrant(mine, T0 + timedelta(minutes=10), "m", "r"))

    found = ledger.due(T0 + timedelta(hours=1), limit=2, keep=lambda key: key.product_id.startswith("mine."))

    assert [g.key for g in found] == [mine]  # five earlier grants of other replicas did not use the limit up
    assert len(ledger.due(T0 + timedelta(hours=1))) == 6  # and they are all still held


def test_a_write_remembered_after_the_topic_returned_it_does_not_wait_for_it_again() -> None:
    reader = LedgerReader(KafkaSettings(bootstrap_servers="unused:9092"), client_id="t", topic=TOPIC)
    first, _ = with_grant(None, PRODUCT, grant(1), changed_by="e1")
    reader._apply(read_back(first, 0))  # delivered and read back before the writer remembered it
    reader.remember(first)
    later, _ = with_grant(first, PRODUCT, grant(2, "r2", consumer="finance"), changed_by="other-replica")
    reader._apply(read_back(later, 1))
    assert reader.state.entry(PRODUCT) == later  # not held back waiting for a record already read
