"""Reading the catalog topic into a :class:`~meshplane.common.catalog.view.Catalog`: rebuilt, then followed.

``mesh.catalog`` is a compacted topic of state (:mod:`meshplane.common.compacted`): one whole entry
per product. :class:`CatalogReader` rebuilds the catalog from it at start and follows it; the
provisioner, its one writer, creates the topic at start (:func:`ensure_catalog_topic`).

Before each batch a service calls :meth:`~CatalogReader.caught_up`, so a product whose events
moved to it from another replica (a rebalance) is planned from the last entry the other replica
wrote.
"""

from __future__ import annotations

from typing import Final

from meshplane.common.catalog.view import Catalog
from meshplane.common.compacted import CompactedTopicReader, ensure_compacted_topic, tombstone_key
from meshplane.common.events import CATALOG_TOPIC, CatalogEntry, KafkaRecord
from meshplane.common.settings import KafkaSettings

__all__ = ["CatalogReader", "ensure_catalog_topic"]

_ACCEPTS: Final = frozenset({CatalogEntry.EVENT_TYPE})


async def ensure_catalog_topic(kafka: KafkaSettings, topic: str = CATALOG_TOPIC) -> None:
    """Create the catalog topic, compacted, if it does not exist (see :func:`ensure_compacted_topic`)."""
    await ensure_compacted_topic(kafka, topic)


class CatalogReader(CompactedTopicReader):
    """Keeps :attr:`catalog` equal to the catalog topic: rebuilt at start, then followed until stopped."""

    def __init__(
        self,
        kafka: KafkaSettings,
        *,
        client_id: str,
        topic: str = CATALOG_TOPIC,
        catalog: Catalog | None = None,
    ) -> None:
        super().__init__(kafka, client_id=client_id, topic=topic)
        self.catalog = catalog if catalog is not None else Catalog()

    def remember(self, entry: CatalogEntry) -> None:
        """Apply an entry this process has just written (read your own writes before the topic returns it)."""
        self.catalog.put(entry)

    def _apply(self, record: KafkaRecord) -> None:
        removed = tombstone_key(record)
        if removed is not None:  # an operator deleting a product's entry
            self.catalog.discard(removed)
            return
        envelope = self._decode(record, _ACCEPTS)
        if envelope is not None:
            assert isinstance(envelope.data, CatalogEntry)
            self.catalog.put(envelope.data)
