"""The Kafka side of meshctl: produce one event durably, read a topic from the start without a group.

Producing is idempotent with ``acks=all``: a record that the broker acknowledged is written once,
in order, on every in-sync replica. Reading assigns the topic's partitions directly (no consumer
group, nothing committed), so ``meshctl`` never disturbs a service's offsets.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from meshplane.common.events import KafkaRecord
from meshplane.meshctl.errors import MeshctlError

__all__ = ["produce", "read_topic"]

# Kafka's UNKNOWN_TOPIC_OR_PARTITION error code, in a topic's metadata.
_UNKNOWN_TOPIC = 3
# How long a bounded read waits for records that the end offsets say exist.
_POLL_MS = 500
# Empty polls after which a bounded read stops even if the end offsets were not reached.
_IDLE_POLLS = 20


def _unreachable(servers: str, exc: BaseException) -> MeshctlError:
    return MeshctlError(f"Kafka at {servers} is not reachable: {exc}")


async def produce(record: KafkaRecord, *, bootstrap_servers: str, timeout_s: float = 30.0) -> KafkaRecord:
    """Write ``record`` with an idempotent producer (acks=all); returns it with its partition and offset."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        enable_idempotence=True,
        acks="all",
        request_timeout_ms=int(timeout_s * 1000),
    )
    try:
        await producer.start()
    except KafkaError as exc:
        await producer.stop()
        raise _unreachable(bootstrap_servers, exc) from None
    try:
        metadata = await asyncio.wait_for(
            producer.send_and_wait(record.topic, record.value, key=record.key, headers=list(record.headers)),
            timeout=timeout_s,
        )
    except (KafkaError, TimeoutError) as exc:
        raise MeshctlError(f"could not write to {record.topic} at {bootstrap_servers}: {exc!r}") from None
    finally:
        await producer.stop()
    return replace(record, partition=metadata.partition, offset=metadata.offset)


async def _partitions(admin: AIOKafkaAdminClient, topic: str) -> list[TopicPartition] | None:
    described: list[dict[str, Any]] = await admin.describe_topics([topic])
    for entry in described:
        if entry["topic"] == topic:
            if entry["error_code"] == _UNKNOWN_TOPIC or not entry["partitions"]:
                return None
            return sorted(TopicPartition(topic, p["partition"]) for p in entry["partitions"])
    return None


async def read_topic(
    topic: str,
    *,
    bootstrap_servers: str,
    from_beginning: bool = True,
    follow: bool = False,
) -> AsyncIterator[list[KafkaRecord]]:
    """Yield batches of ``topic``'s records; without ``follow``, stop at the end offsets seen at the start.

    A topic that does not exist yet reads as empty (or, with ``follow``, is waited for).
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, group_id=None, enable_auto_commit=False)
    try:
        await admin.start()
        await consumer.start()
    except KafkaError as exc:
        await consumer.stop()
        await admin.close()
        raise _unreachable(bootstrap_servers, exc) from None
    try:
        partitions = await _partitions(admin, topic)
        while partitions is None and follow:
            await asyncio.sleep(1.0)
            partitions = await _partitions(admin, topic)
        if partitions is None:
            return
        consumer.assign(partitions)
        if from_beginning:
            await consumer.seek_to_beginning(*partitions)
        else:
            await consumer.seek_to_end(*partitions)
        end: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
        idle = 0
        while True:
            if not follow:
                behind = [tp for tp in partitions if await consumer.position(tp) < end[tp]]
                # Offsets without a readable record (transaction markers) end a bounded read too.
                if not behind or idle >= _IDLE_POLLS:
                    return
            batches = await consumer.getmany(timeout_ms=_POLL_MS)
            records = [KafkaRecord.consumed(m) for tp in sorted(batches) for m in batches[tp]]
            idle = 0 if records else idle + 1
            if records:
                yield records
    except KafkaError as exc:
        raise MeshctlError(f"reading {topic} at {bootstrap_servers} failed: {exc!r}") from None
    finally:
        await consumer.stop()
        await admin.close()
