"""Where a service's output records go: audit events and dead letters, acknowledged before commit.

A service produces with its own idempotent aiokafka producer (``acks=all``,
``enable_idempotence``) rather than through FastStream's ``publish``: FastStream takes header
values as text, and a dead letter must carry the rejected input's headers byte for byte.

Producing is split in two so that a batch of inputs costs one wait for acknowledgements, not one
per input: :meth:`RecordSink.enqueue` hands records to the producer and returns a
:data:`Delivery`, which completes once the broker has acknowledged all of them. Records leave as
soon as they are queued (an audit event is visible while the rest of its batch is still being
worked on); the consumer awaits every delivery before it commits the inputs' offsets, so an
offset is committed after its output is durable, never before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from typing import Protocol, TypeAlias

from aiokafka import AIOKafkaProducer

from meshplane.common.events.envelope import KafkaRecord
from meshplane.common.settings import KafkaSettings

__all__ = ["Delivery", "RecordProducer", "RecordSink", "RecordingSink"]

#: Completes when every record of one :meth:`RecordSink.enqueue` call is acknowledged; raises if any failed.
Delivery: TypeAlias = Awaitable[object]


class RecordSink(Protocol):
    async def enqueue(self, records: Sequence[KafkaRecord]) -> Delivery:
        """Queue ``records`` for producing, in order; await the result for their acknowledgements."""
        ...


class RecordProducer:
    """The real sink: an idempotent Kafka producer, started and stopped with the service."""

    def __init__(self, kafka: KafkaSettings, *, client_id: str) -> None:
        self._kafka = kafka
        self._client_id = client_id
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        # Made here, not in __init__: aiokafka binds a client to the running event loop.
        producer = AIOKafkaProducer(
            bootstrap_servers=self._kafka.bootstrap_servers,
            client_id=self._client_id,
            acks="all",
            enable_idempotence=True,
            request_timeout_ms=self._kafka.request_timeout_ms,
        )
        await producer.start()
        self._producer = producer

    async def stop(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            await producer.stop()

    async def ready(self) -> bool:
        """True while the producer is started and knows at least one broker."""
        return self._producer is not None and bool(self._producer.client.cluster.brokers())

    async def enqueue(self, records: Sequence[KafkaRecord]) -> Delivery:
        if self._producer is None:
            raise RuntimeError("the record producer is not started")
        # The idempotent producer keeps records to one partition in the order they were queued.
        futures = [
            await self._producer.send(
                record.topic, value=record.value, key=record.key, headers=list(record.headers)
            )
            for record in records
        ]
        return asyncio.gather(*futures)

    async def send(self, records: Sequence[KafkaRecord]) -> None:
        """Produce ``records`` and return once all are acknowledged."""
        await (await self.enqueue(records))


class RecordingSink:
    """An in-memory sink for component tests: keeps what would have been produced."""

    def __init__(self) -> None:
        self.records: list[KafkaRecord] = []

    async def enqueue(self, records: Sequence[KafkaRecord]) -> Delivery:
        self.records.extend(records)
        delivered: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        delivered.set_result(None)
        return delivered

    def on(self, topic: str) -> list[KafkaRecord]:
        return [record for record in self.records if record.topic == topic]
