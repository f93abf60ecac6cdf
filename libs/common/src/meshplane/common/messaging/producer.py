"""Where a service's output records go: audit events and dead letters, acknowledged before commit.

A service produces with its own idempotent aiokafka producer (``acks=all``,
``enable_idempotence``) rather than through FastStream's ``publish``: FastStream takes header
values as text, and a dead letter must carry the rejected input's headers byte for byte.
:meth:`RecordProducer.send` returns only once the broker has acknowledged every record, so the
input's offset is committed after its output is durable, never before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

from aiokafka import AIOKafkaProducer

from meshplane.common.events.envelope import KafkaRecord
from meshplane.common.settings import KafkaSettings

__all__ = ["RecordProducer", "RecordSink", "RecordingSink"]


class RecordSink(Protocol):
    async def send(self, records: Sequence[KafkaRecord]) -> None:
        """Produce ``records`` in order and return once all are acknowledged."""
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

    async def send(self, records: Sequence[KafkaRecord]) -> None:
        if self._producer is None:
            raise RuntimeError("the record producer is not started")
        # Queue all, then wait for all: records to one partition keep their order, and a batch
        # costs one round trip rather than one per record.
        futures = [
            await self._producer.send(
                record.topic, value=record.value, key=record.key, headers=list(record.headers)
            )
            for record in records
        ]
        await asyncio.gather(*futures)


class RecordingSink:
    """An in-memory sink for component tests: keeps what would have been produced."""

    def __init__(self) -> None:
        self.records: list[KafkaRecord] = []

    async def send(self, records: Sequence[KafkaRecord]) -> None:
        self.records.extend(records)

    def on(self, topic: str) -> list[KafkaRecord]:
        return [record for record in self.records if record.topic == topic]
