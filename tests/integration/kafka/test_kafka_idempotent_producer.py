"""An idempotent producer (acks=all) writes every message once, in the order it was sent."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from .kafka_support import wait_until

MESSAGES = 200


async def test_idempotent_producer_writes_in_order_without_duplicates(
    kafka_bootstrap_servers: str, create_topic: Callable[[int], Awaitable[str]]
) -> None:
    topic = await create_topic(1)
    partition = TopicPartition(topic, 0)
    sent = [f"event-{i:04d}".encode() for i in range(MESSAGES)]

    producer = AIOKafkaProducer(
        bootstrap_servers=kafka_bootstrap_servers, enable_idempotence=True, acks="all"
    )
    await producer.start()
    try:
        # All sends are queued before any is awaited, so batches are in flight together, which
        # is where a non-idempotent producer's retries could reorder or duplicate them.
        deliveries = [await producer.send(topic, value, key=b"one-key") for value in sent]
        written = await asyncio.gather(*deliveries)
    finally:
        await producer.stop()
    assert [meta.offset for meta in written] == list(range(MESSAGES))

    consumer = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign([partition])
        await consumer.seek_to_beginning(partition)
        read: list[bytes] = []

        async def all_read() -> bool:
            batches = await consumer.getmany(partition, timeout_ms=100)
            read.extend(record.value for record in batches.get(partition, []))
            return len(read) >= MESSAGES

        await wait_until(all_read, f"{MESSAGES} messages to be read back")
        end = (await consumer.end_offsets([partition]))[partition]
    finally:
        await consumer.stop()
    assert read == sent
    assert end == MESSAGES  # nothing beyond what was sent was written
