"""A compacted topic read as state: every key's latest record, rebuilt at start, then followed.

A compacted topic keeps at least the latest record of every key, so reading it from the start of
every partition gives every key's current value: the mesh keeps state this way where a database
would otherwise be needed (the catalog, ``mesh.catalog``; sharing's grants, ``mesh.sharing.ledger``).
:class:`CompactedTopicReader` does the reading and leaves what a record means to its subclass:
:meth:`~CompactedTopicReader.start` reads up to the end offsets it found (the *rebuild*: every
partition assigned directly, no consumer group, nothing committed) and returns; a background task
then follows the topic.

:meth:`~CompactedTopicReader.caught_up` is the read-your-writes barrier: it returns once every
record that was in the topic when it was called has been applied. Called before each batch, it
makes a replica that takes over a key (a rebalance) start from the last record the previous owner
wrote: that record was acknowledged before the previous owner committed its input, so it is in the
topic before this replica sees the input again.

The topic must be compacted; :func:`ensure_compacted_topic` creates it so when it is missing, with
the cluster's default partitions and replication factor. A reader started before the topic exists
reads nothing and takes the topic's partitions as soon as it appears.
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

from meshplane.common.events import Envelope, EventData, EventRejectedError, KafkaRecord, decode
from meshplane.common.settings import KafkaSettings

__all__ = ["CAUGHT_UP_SECONDS", "CompactedTopicReader", "ensure_compacted_topic", "tombstone_key"]

log = logging.getLogger(__name__)

#: How long one fetch waits for new records while following.
_FOLLOW_POLL_MS: Final = 200
#: How long :meth:`CompactedTopicReader.caught_up` waits before giving up.
CAUGHT_UP_SECONDS: Final = 30.0
#: How often a reader without partitions (no topic yet) looks for the topic again.
_TOPIC_RECHECK_SECONDS: Final = 2.0


async def ensure_compacted_topic(kafka: KafkaSettings, topic: str) -> None:
    """Create ``topic``, compacted, if it does not exist, sized by the cluster's defaults.

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
            "created the topic %s (compacted, %d partitions, %d replicas)",
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


class CompactedTopicReader:
    """Applies every record of a compacted topic, from the start, then as they come, until stopped.

    Subclasses say what a record means in :meth:`_apply`; tombstones (a key with no value) reach it too.
    """

    def __init__(
        self,
        kafka: KafkaSettings,
        *,
        client_id: str,
        topic: str,
    ) -> None:
        self._kafka = kafka
        self._client_id = client_id
        self._topic = topic
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
        """Read the whole topic, then follow it in the background."""
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
        log.info("read %s: %d records in %.2f s", self._topic, self.rebuild_records, self.rebuild_seconds)
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

    # ------------------------------------------------------------------------------------------

    def _require_started(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            raise RuntimeError(f"the reader of {self._topic} is not started")
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
                    self._apply_safely(KafkaRecord.consumed(record))
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
                    self._apply_safely(KafkaRecord.consumed(record))
            self._progress.set()

    def _apply_safely(self, record: KafkaRecord) -> None:
        # One record the subclass cannot apply is skipped (and counted), never the end of the
        # follower: every caught_up() after it would time out, and the service stop consuming.
        try:
            self._apply(record)
        except Exception:
            self.skipped += 1
            log.exception("skipped a record at %s/%d/%d", record.topic, record.partition, record.offset)

    def _apply(self, record: KafkaRecord) -> None:
        """What one record (a tombstone too: :func:`tombstone_key`) does to the subclass's state."""
        raise NotImplementedError

    def _decode(self, record: KafkaRecord, accepts: frozenset[str]) -> Envelope[EventData] | None:
        """The record's event, or None (counted in :attr:`skipped`, logged) when it does not decode.

        A compacted topic of state has one writer; a record someone else wrote there by mistake is
        skipped rather than stopping every reader.
        """
        try:
            return decode(record, accepts=accepts)
        except EventRejectedError as rejected:
            self.skipped += 1
            log.warning(
                "skipped a record at %s/%d/%d: %s", record.topic, record.partition, record.offset, rejected
            )
            return None


def tombstone_key(record: KafkaRecord) -> str | None:
    """The key of a tombstone (a key without a value: compaction removes the key), else None."""
    if not record.value and record.key is not None:
        return record.key.decode("utf-8", errors="replace")
    return None
