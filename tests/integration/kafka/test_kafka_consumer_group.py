"""A consumer group of two splits a four-partition topic and consumes every message exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from .kafka_support import wait_until

PARTITIONS = 4
MESSAGES = 40


async def test_two_members_split_the_partitions_and_consume_each_message_once(
    kafka_bootstrap_servers: str,
    create_topic: Callable[[int], Awaitable[str]],
    unique: Callable[[str], str],
) -> None:
    topic = await create_topic(PARTITIONS)
    group = unique("group")
    members = [
        AIOKafkaConsumer(
            topic,
            bootstrap_servers=kafka_bootstrap_servers,
            group_id=group,
            client_id=f"member-{index}",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            # A member learns of a rebalance at its next heartbeat; the default 3 s would make
            # the join of the second member take seconds.
            heartbeat_interval_ms=300,
        )
        for index in range(2)
    ]
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap_servers)
    await asyncio.gather(producer.start(), *(member.start() for member in members))
    try:
        # Nothing is produced until the group has settled on one generation with both members,
        # so no message can be read by one member before a rebalance hands its partition over.
        async def settled() -> bool:
            for member in members:
                assert await member.getmany(timeout_ms=50) == {}
            sizes = [len(member.assignment()) for member in members]
            union = members[0].assignment() | members[1].assignment()
            return sizes == [2, 2] and len(union) == PARTITIONS

        await wait_until(settled, "both group members to hold two partitions each")
        first, second = (member.assignment() for member in members)
        assert first.isdisjoint(second)
        assert first | second == {TopicPartition(topic, p) for p in range(PARTITIONS)}

        sent = [f"message-{i}".encode() for i in range(MESSAGES)]
        deliveries = [
            await producer.send(topic, value, partition=i % PARTITIONS) for i, value in enumerate(sent)
        ]
        await asyncio.gather(*deliveries)

        received: list[list[tuple[TopicPartition, bytes]]] = [[], []]

        async def everything_received() -> bool:
            for member, into in zip(members, received, strict=True):
                batches = await member.getmany(timeout_ms=100)
                into.extend((tp, record.value) for tp, records in batches.items() for record in records)
            return sum(len(into) for into in received) >= MESSAGES

        await wait_until(everything_received, f"the {MESSAGES} messages to be consumed")
        # Anything read twice would already be in `received`; one more poll shows nothing is left over.
        for member, into in zip(members, received, strict=True):
            leftover = await member.getmany(timeout_ms=200)
            into.extend((tp, record.value) for tp, records in leftover.items() for record in records)

        for member, into in zip(members, received, strict=True):
            assert {tp for tp, _ in into} <= member.assignment()
            assert len({tp for tp, _ in into}) == 2
        values = [value for into in received for _, value in into]
        assert len(values) == MESSAGES
        assert sorted(values) == sorted(sent)
    finally:
        await asyncio.gather(producer.stop(), *(member.stop() for member in members))
