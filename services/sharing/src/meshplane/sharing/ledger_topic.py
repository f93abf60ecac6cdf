"""Sharing's state on its compacted topic: every product's ledger entry, rebuilt at start, then followed.

:class:`LedgerReader` is a :class:`~meshplane.common.compacted.CompactedTopicReader` of
``mesh.sharing-ledger`` into a :class:`~meshplane.sharing.ledger.LedgerState`; it creates the topic
(compacted) at start if it is missing, since sharing is its one writer. A handler writes an entry
as a :class:`~meshplane.common.messaging.Publication` beside its audit event and :meth:`remember`\\ s
it at once; before every batch the kit waits until the reader has caught up with the topic, so a
product whose events moved here from another replica is decided from the last entry written.
"""

from __future__ import annotations

from typing import Final, Protocol

from meshplane.common.compacted import CompactedTopicReader, ensure_compacted_topic, tombstone_key
from meshplane.common.events import InputRef, KafkaRecord, SharingLedgerEntry
from meshplane.common.settings import KafkaSettings
from meshplane.sharing.ledger import LedgerState, Recorded

__all__ = ["LedgerReader", "LedgerSource"]

_ACCEPTS: Final = frozenset({SharingLedgerEntry.EVENT_TYPE})


class LedgerSource(Protocol):
    """Where the service layer's ledger comes from: the topic, or a test's memory."""

    name: str
    topic: str
    state: LedgerState

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def ready(self) -> bool: ...

    async def caught_up(self) -> None: ...

    def remember(self, entry: SharingLedgerEntry) -> None: ...


class LedgerReader(CompactedTopicReader):
    name = "ledger"

    def __init__(self, kafka: KafkaSettings, *, client_id: str, topic: str) -> None:
        super().__init__(kafka, client_id=client_id, topic=topic)
        self.topic = topic
        self.state = LedgerState()
        #: This replica's latest write per product, until the topic returns it: older records of the
        #: product read meanwhile (its own earlier writes among them) would set the state back.
        self._unread: dict[str, SharingLedgerEntry] = {}

    async def start(self) -> None:
        await ensure_compacted_topic(self._kafka, self.topic)
        await super().start()

    def remember(self, entry: SharingLedgerEntry) -> None:
        if self.state.entry(entry.product_id) == entry:
            return  # the topic returned it already (remembered after its delivery, say)
        self._unread[entry.product_id] = entry
        self.state.put(entry)

    def _apply(self, record: KafkaRecord) -> None:
        removed = tombstone_key(record)
        if removed is not None:  # an operator clearing a product's entry
            self.state.discard(removed)
            return
        envelope = self._decode(record, _ACCEPTS)
        if envelope is None:
            return
        assert isinstance(envelope.data, SharingLedgerEntry)
        product_id = envelope.data.product_id
        waiting = self._unread.get(product_id)
        if waiting is not None and envelope.data != waiting:
            return  # older than this replica's own latest write, which is still on its way
        self._unread.pop(product_id, None)
        where = InputRef(
            id=envelope.id,
            type=envelope.type,
            source=envelope.source,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key=envelope.data.product_id,
        )
        self.state.put(envelope.data, Recorded(record.partition, where))
