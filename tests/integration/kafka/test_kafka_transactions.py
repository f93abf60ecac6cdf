"""Consume-transform-produce in Kafka transactions: a committed one is seen, an aborted one is not.

The transformed output and the input offsets go into the same transaction
(``send_offsets_to_transaction``), so committing makes both visible together and aborting drops
both: a ``read_committed`` reader never sees the aborted output, and the group resumes right after
the last committed input.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import ConsumerRecord

from .kafka_support import wait_until

INPUTS = [f"order-{i}".encode() for i in range(6)]
END = b"end-of-output"


def transform(value: bytes) -> bytes:
    return value.upper()


async def take(consumer: AIOKafkaConsumer, partition: TopicPartition, count: int) -> list[ConsumerRecord]:
    """The next ``count`` records of ``partition`` (exactly that many: the rest stay unread)."""
    taken: list[ConsumerRecord] = []

    async def enough() -> bool:
        batches = await consumer.getmany(partition, timeout_ms=100, max_records=count - len(taken))
        taken.extend(batches.get(partition, []))
        return len(taken) == count

    await wait_until(enough, f"{count} records from {partition.topic}")
    return taken


async def read_until_end(bootstrap: str, partition: TopicPartition, isolation_level: str) -> list[bytes]:
    """Everything a fresh reader with ``isolation_level`` sees in ``partition`` up to the END marker."""
    reader = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, isolation_level=isolation_level
    )
    await reader.start()
    seen: list[bytes] = []
    try:
        reader.assign([partition])
        await reader.seek_to_beginning(partition)

        async def at_end() -> bool:
            batches = await reader.getmany(partition, timeout_ms=100)
            seen.extend(record.value for record in batches.get(partition, []))
            return END in seen

        await wait_until(at_end, f"the end marker of {partition.topic} ({isolation_level})")
    finally:
        await reader.stop()
    return seen


async def test_committed_transaction_is_visible_and_aborted_one_is_not(
    kafka_bootstrap_servers: str,
    create_topic: Callable[[int], Awaitable[str]],
    unique: Callable[[str], str],
) -> None:
    source = TopicPartition(await create_topic(1), 0)
    sink = TopicPartition(await create_topic(1), 0)
    group = unique("group")

    plain = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap_servers, enable_idempotence=True)
    transactional = AIOKafkaProducer(
        bootstrap_servers=kafka_bootstrap_servers, transactional_id=unique("txn"), enable_idempotence=True
    )
    consumer = AIOKafkaConsumer(
        source.topic,
        bootstrap_servers=kafka_bootstrap_servers,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        isolation_level="read_committed",
    )
    await asyncio.gather(plain.start(), transactional.start())
    try:
        for value in INPUTS:
            await plain.send_and_wait(source.topic, value)
        await consumer.start()

        # Transaction 1, committed: the first three inputs, transformed, plus their offsets.
        first = await take(consumer, source, 3)
        async with transactional.transaction():
            for record in first:
                await transactional.send_and_wait(sink.topic, transform(record.value))
            await transactional.send_offsets_to_transaction({source: first[-1].offset + 1}, group)

        # Transaction 2, aborted after its output was written to the log.
        second = await take(consumer, source, 3)
        await transactional.begin_transaction()
        for record in second:
            await transactional.send_and_wait(sink.topic, transform(record.value))
        await transactional.send_offsets_to_transaction({source: second[-1].offset + 1}, group)
        await transactional.abort_transaction()

        # A plain write after the abort: readers that reach it have passed both transactions.
        await plain.send_and_wait(sink.topic, END)

        committed_offsets: list[int | None] = []

        async def offset_committed() -> bool:
            committed_offsets.append(await consumer.committed(source))
            return committed_offsets[-1] is not None

        await wait_until(offset_committed, "the group's committed offset to appear")
    finally:
        await asyncio.gather(consumer.stop(), plain.stop(), transactional.stop())

    assert [record.value for record in first] == INPUTS[:3]
    assert [record.value for record in second] == INPUTS[3:]

    # The group's offset is the committed transaction's, not the aborted one's.
    assert committed_offsets[-1] == 3

    # read_committed sees exactly the committed output; the aborted output is in the log
    # (read_uncommitted sees it) but filtered out.
    committed_view = await read_until_end(kafka_bootstrap_servers, sink, "read_committed")
    raw_view = await read_until_end(kafka_bootstrap_servers, sink, "read_uncommitted")
    assert committed_view == [*(transform(value) for value in INPUTS[:3]), END]
    assert raw_view == [*(transform(value) for value in INPUTS), END]

    # A new member of the group resumes after the committed transaction: at the aborted inputs.
    resumed = AIOKafkaConsumer(
        source.topic,
        bootstrap_servers=kafka_bootstrap_servers,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        isolation_level="read_committed",
    )
    await resumed.start()
    try:
        again = await take(resumed, source, 3)
    finally:
        await resumed.stop()
    assert [(record.offset, record.value) for record in again] == list(enumerate(INPUTS))[3:]
