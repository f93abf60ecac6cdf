"""Reading the catalog topic into a :class:`~meshplane.common.catalog.view.Catalog`: rebuilt, then followed.

``mesh.catalog`` is compacted: Kafka keeps at least the latest record of every key, so reading it
from the start of every partition gives every product's current entry. :meth:`CatalogReader.start`
does that (the *rebuild*: every partition assigned directly, no consumer group, nothing committed)
and returns once it has read up to the end offsets it found; a background task then follows the
topic, so the catalog stays current while the service runs.

:meth:`CatalogReader.caught_up` is the read-your-writes barrier: it returns once every record that
was in the topic when it was called has been applied. The provisioner calls it before each batch,
so a product whose events moved to it from another replica (a rebalance) is planned from the last
entry the other replica wrote: that replica's catalog record was acknowledged before its offsets
were committed, so it is in the topic before this replica sees the input again.

The topic must be compacted; :func:`ensure_catalog_topic` creates it so when it is missing (the
provisioner, its one writer, calls it at start), with the cluster's default partitions and
replication factor. A reader started before the topic exists reads an empty catalog and takes the
topic's partitions as soon as it appears.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Final

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import TopicAlreadyExistsError

from meshplane.common.catalog.view import Catalog
from meshplane.common.events import CATALOG_TOPIC, CatalogEntry, EventRejectedError, KafkaRecord, decode
from meshplane.common.settings import KafkaSettings

__all__ = ["CatalogReader", "ensure_catalog_topic"]

log = logging.getLogger(__name__)

_ACCEPTS: Final = frozenset({CatalogEntry.EVENT_TYPE})
#: How long one fetch waits for new catalog records while following.
_FOLLOW_POLL_MS: Final = 200
#: How long :meth:`CatalogReader.caught_up` waits before giving up.
CAUGHT_UP_SECONDS: Final = 30.0
#: How often a reader without partitions (no topic yet) looks for the topic again.
_TOPIC_RECHECK_SECONDS: Final = 2.0


async def ensure_catalog_topic(kafka: KafkaSettings, topic: str = CATALOG_TOPIC) -> None:
    """Create the catalog topic, compacted, if it does not exist, sized by the cluster's defaults.

    The partitions and replication factor are the broker's ``num.partitions`` and
    ``default.replication.factor`` (what an auto-created topic would get), read from one broker.
    """
    admin = AIOKafkaAdminClient(
        bootstrap_servers=kafka.bootstrap_servers, request_timeout_ms=kafka.request_timeout_ms
    )
    await admin.start()
    try:
        if topic in set(await admin.list_topics()):
            return
        partitions, replication = await _cluster_defaults(admin)
        new = NewTopic(topic, partitions, replication, topic_configs={"cleanup.policy": "compact"})
        with contextlib.suppress(TopicAlreadyExistsError):
            await admin.create_topics([new])
        log.info(
            "created the catalog topic %s (compacted, %d partitions, %d replicas)",
            topic,
            partitions,
            replication,
        )
    finally:
        await admin.close()


async def _cluster_defaults(admin: AIOKafkaAdminClient) -> tuple[int, int]:
    """The broker's ``num.partitions`` and ``default.replication.factor``."""
    brokers = (await admin.describe_cluster())["brokers"]
    resource = ConfigResource(ConfigResourceType.BROKER, str(brokers[0]["node_id"]))
    (response,) = await admin.describe_configs([resource])
    ((_error, _message, _type, _name, entries),) = response.resources
    values = {entry[0]: entry[1] for entry in entries}
    return int(values.get("num.partitions", 1)), int(values.get("default.replication.factor", 1))


class CatalogReader:
    """Keeps :attr:`catalog` equal to the catalog topic: rebuilt at start, then followed until stopped."""

    def __init__(
        self,
        kafka: KafkaSettings,
        *,
        client_id: str,
        topic: str = CATALOG_TOPIC,
        catalog: Catalog | None = None,
    ) -> None:
        self._kafka = kafka
        self._client_id = client_id
        self._topic = topic
        self.catalog = catalog if catalog is not None else Catalog()
        self._consumer: AIOKafkaConsumer | None = None
        # End offsets are asked on a connection of their own: the broker answers a connection's
        # requests in order, and the follower's fetch may be parked there (fetch.max.wait.ms,
        # 500 ms) while there is nothing new, which would hold every caught_up() that long.
        self._offsets: AIOKafkaConsumer | None = None
        self._partitions: list[TopicPartition] = []
        self._follower: asyncio.Task[None] | None = None
        self._progress = asyncio.Event()
        self._ready = False
        #: Seconds the rebuild took, and how many records it read (for metrics and the benchmark).
        self.rebuild_seconds: float | None = None
        self.rebuild_records = 0
        self.skipped = 0

    async def start(self) -> None:
        """Read the whole topic into :attr:`catalog`, then follow it in the background."""
        began = time.perf_counter()
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._kafka.bootstrap_servers,
            client_id=self._client_id,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            request_timeout_ms=self._kafka.request_timeout_ms,
            max_partition_fetch_bytes=4 * 1024 * 1024,
        )
        await consumer.start()
        self._consumer = consumer
        offsets = AIOKafkaConsumer(
            bootstrap_servers=self._kafka.bootstrap_servers,
            client_id=f"{self._client_id}-offsets",
            group_id=None,
            enable_auto_commit=False,
            request_timeout_ms=self._kafka.request_timeout_ms,
        )
        await offsets.start()
        self._offsets = offsets
        await self._assign()
        self.rebuild_records = await self._read_to(await self._end_offsets())
        self.rebuild_seconds = time.perf_counter() - began
        self._ready = True
        log.info(
            "catalog rebuilt from %s: %d products from %d records in %.2f s",
            self._topic,
            len(self.catalog),
            self.rebuild_records,
            self.rebuild_seconds,
        )
        self._follower = asyncio.create_task(self._follow(), name=f"follow {self._topic}")

    async def stop(self) -> None:
        follower, self._follower = self._follower, None
        if follower is not None:
            follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await follower
        consumer, self._consumer = self._consumer, None
        offsets, self._offsets = self._offsets, None
        self._ready = False
        for client in (consumer, offsets):
            if client is not None:
                await client.stop()

    async def ready(self) -> bool:
        """True once the rebuild is done and the reader is following the topic."""
        return self._ready and self._follower is not None and not self._follower.done()

    async def caught_up(self) -> None:
        """Return once every record in the topic at the time of the call has been applied.

        Raises ``TimeoutError`` after :data:`CAUGHT_UP_SECONDS` (Kafka is unreachable, say), which
        fails the batch: it is read again.
        """
        self._require_started()
        if not self._partitions:
            await self._assign()
            if not self._partitions:
                return
        end = await self._end_offsets()
        async with asyncio.timeout(CAUGHT_UP_SECONDS):
            while not await self._reached(end):
                self._progress.clear()
                if await self._reached(end):
                    return
                await self._progress.wait()

    def remember(self, entry: CatalogEntry) -> None:
        """Apply an entry this process has just written (read your own writes before the topic returns it)."""
        self.catalog.put(entry)

    # ------------------------------------------------------------------------------------------

    def _require_started(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            raise RuntimeError("the catalog reader is not started")
        return self._consumer

    async def _assign(self) -> None:
        """Take every partition of the topic, from its start, if the topic exists with partitions."""
        consumer = self._require_started()
        partitions = await self._partitions_in_cluster()
        if not partitions:  # no topic yet, or just created and its partitions not in the metadata yet
            return
        self._partitions = [TopicPartition(self._topic, p) for p in partitions]
        consumer.assign(self._partitions)
        await consumer.seek_to_beginning(*self._partitions)

    async def _partitions_in_cluster(self) -> list[int]:
        # Asked of the cluster, not the consumer's cache (which holds only the topics it had at start),
        # and for all topics: a metadata request naming a missing topic may have the broker create it,
        # without compaction.
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self._kafka.bootstrap_servers, request_timeout_ms=self._kafka.request_timeout_ms
        )
        await admin.start()
        try:
            topics = await admin.describe_topics()
        finally:
            await admin.close()
        for described in topics:
            if described["topic"] == self._topic and described["error_code"] == 0:
                return sorted(p["partition"] for p in described["partitions"])
        return []

    async def _end_offsets(self) -> dict[TopicPartition, int]:
        if not self._partitions:
            return {}
        self._require_started()
        assert self._offsets is not None
        offsets: dict[TopicPartition, int] = await self._offsets.end_offsets(self._partitions)
        return offsets

    async def _reached(self, end: dict[TopicPartition, int]) -> bool:
        consumer = self._require_started()
        for partition, offset in end.items():
            if await consumer.position(partition) < offset:
                return False
        return True

    async def _read_to(self, end: dict[TopicPartition, int]) -> int:
        consumer = self._require_started()
        read = 0
        while not await self._reached(end):
            batches = await consumer.getmany(timeout_ms=_FOLLOW_POLL_MS, max_records=10_000)
            for records in batches.values():
                for record in records:
                    self._apply(KafkaRecord.consumed(record))
                read += sum(len(records) for records in batches.values())
        return read

    async def _follow(self) -> None:
        consumer = self._require_started()
        checked = time.monotonic()
        while True:
            if not self._partitions:
                if time.monotonic() - checked >= _TOPIC_RECHECK_SECONDS:
                    checked = time.monotonic()
                    await self._assign()
                await asyncio.sleep(_FOLLOW_POLL_MS / 1000)
                continue
            batches = await consumer.getmany(timeout_ms=_FOLLOW_POLL_MS, max_records=10_000)
            for records in batches.values():
                for record in records:
                    self._apply(KafkaRecord.consumed(record))
            self._progress.set()

    def _apply(self, record: KafkaRecord) -> None:
        if not record.value and record.key is not None:
            # A tombstone (an operator deleting a product's entry): compaction removes the key.
            self.catalog.discard(record.key.decode("utf-8", errors="replace"))
            return
        try:
            envelope = decode(record, accepts=_ACCEPTS)
        except EventRejectedError as rejected:
            # Only the provisioner writes here; a record that does not decode is someone else's
            # mistake, and the catalog carries on without it.
            self.skipped += 1
            log.warning(
                "skipped a catalog record at %s/%d/%d: %s",
                record.topic,
                record.partition,
                record.offset,
                rejected,
            )
            return
        entry = envelope.data
        assert isinstance(entry, CatalogEntry)
        self.catalog.put(entry)
