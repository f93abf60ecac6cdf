"""The broker every service consumes with: FastStream's Kafka broker, configured the mesh's way.

* Offsets are committed explicitly, after the work and its output are done: the subscriber's ack
  policy is ``NACK_ON_ERROR``, under which FastStream commits once the handler returns, and on an
  exception seeks the partition back to the record, so Kafka delivers it again.
* Records are taken one at a time per consumer, in partition order, so all events of one product
  (one key) are handled in the order they were published.
* A service subscribes to a topic *pattern* (``mesh\\.<domain>\\.product``), so a new domain's topic
  is picked up at the next metadata refresh without a redeploy.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Sequence
from typing import Final

from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage

from meshplane.common.events import AUDIT_TOPIC, DEADLETTER_TOPIC, AuditEventData
from meshplane.common.events.envelope import KafkaRecord
from meshplane.common.messaging.processing import EventProcessor
from meshplane.common.settings import KafkaSettings

__all__ = ["METADATA_MAX_AGE_MS", "create_broker", "declare_outputs", "record_of", "subscribe"]

#: How soon a consumer sees a topic created after it started (the client's metadata refresh).
METADATA_MAX_AGE_MS: Final = 5_000


def create_broker(kafka: KafkaSettings, *, client_id: str, graceful_timeout: float = 30.0) -> KafkaBroker:
    """A FastStream Kafka broker. ``graceful_timeout``: how long shutdown waits for the handler in flight."""
    return KafkaBroker(
        kafka.bootstrap_servers,
        client_id=client_id,
        request_timeout_ms=kafka.request_timeout_ms,
        metadata_max_age_ms=METADATA_MAX_AGE_MS,
        graceful_timeout=graceful_timeout,
    )


def record_of(message: KafkaMessage) -> KafkaRecord:
    """The consumed record as the mesh sees it: original key, value and headers, untouched."""
    return KafkaRecord.consumed(message.raw_message)


async def _raw_body(message: KafkaMessage) -> bytes:
    # The processor decodes; FastStream must not try to parse the value as JSON first, or bad
    # JSON would fail before the mesh could dead-letter it.
    return bytes(message.body)


def subscribe(
    broker: KafkaBroker,
    processor: EventProcessor,
    *,
    pattern: str,
    group_id: str,
    kafka: KafkaSettings,
    title: str,
    description: str,
) -> None:
    """Register ``processor`` for every topic matching ``pattern``, in consumer group ``group_id``."""

    @broker.subscriber(
        pattern=pattern,
        group_id=group_id,
        auto_offset_reset=kafka.auto_offset_reset,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        decoder=_raw_body,
        title=title,
        description=description,
    )
    async def handle(body: bytes, message: KafkaMessage) -> None:
        await processor.process(record_of(message))


def declare_outputs(
    broker: KafkaBroker, *, service: str, audit_types: Sequence[type[AuditEventData]]
) -> None:
    """Describe what the service writes, for the AsyncAPI document generated from the app.

    Records are produced by :class:`~meshplane.common.messaging.producer.RecordProducer` (FastStream's
    publish takes header values as text only); these publishers are declared so that the document
    shows the audit and dead-letter channels with their payloads. Nothing publishes through them.
    """
    broker.publisher(
        AUDIT_TOPIC,
        title=f"{service} audit",
        description="What the service did, as CloudEvents (binary mode); ids derived from the input event.",
        schema=functools.reduce(operator.or_, audit_types),
    )
    broker.publisher(
        DEADLETTER_TOPIC,
        title=f"{service} dead letters",
        description=(
            "Input that could not be taken: the original key, value and headers, plus "
            "mesh_deadletter_reason (bad-json, not-a-cloudevent, unknown-type, schema-error, unsafe-name, "
            "spoofed-domain), mesh_deadletter_detail, mesh_deadletter_service and mesh_original_topic / "
            "_partition / _offset."
        ),
        schema=bytes,
    )
