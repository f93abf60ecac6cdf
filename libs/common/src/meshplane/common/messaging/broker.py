"""The broker every service consumes with: FastStream's Kafka broker, configured the mesh's way.

* Records arrive in batches (up to ``KafkaSettings.batch_max_records``, whatever has been fetched)
  and are taken one after another, in partition order, so all events of one product (one key)
  are handled in the order they were published. A batch costs one wait for the outputs'
  acknowledgements and one offset commit, rather than one of each per record.
* Offsets are committed explicitly, after the work and its output are done: the subscriber's ack
  policy is ``NACK_ON_ERROR``, under which FastStream commits the consumer's position once the
  handler returns. A partition that stopped early in the batch is first sought back to its first
  record not taken, so the commit stops there and Kafka delivers the record again. Should the
  handler raise (producing the output failed), FastStream seeks every partition back to the
  batch's start and nothing is committed.
* A service subscribes to a topic *pattern* (``mesh\\.<domain>\\.product``), so a new domain's topic
  is picked up at the next metadata refresh without a redeploy.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final

from aiokafka import ConsumerRecord, TopicPartition
from aiokafka.errors import IllegalStateError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.message import StreamMessage

from meshplane.common.events.envelope import KafkaRecord
from meshplane.common.messaging.processing import EventProcessor
from meshplane.common.settings import KafkaSettings

__all__ = ["METADATA_MAX_AGE_MS", "create_broker", "subscribe"]

log = logging.getLogger(__name__)

#: How soon a consumer sees a topic created after it started (the client's metadata refresh).
METADATA_MAX_AGE_MS: Final = 5_000

#: How long an idle consumer waits for records per poll. FastStream also sleeps this long after
#: an empty poll, so it bounds the extra latency of the first event after a quiet spell.
IDLE_POLL_MS: Final = 50


def create_broker(kafka: KafkaSettings, *, client_id: str, graceful_timeout: float = 30.0) -> KafkaBroker:
    """A FastStream Kafka broker. ``graceful_timeout``: how long shutdown waits for the handler in flight."""
    return KafkaBroker(
        kafka.bootstrap_servers,
        client_id=client_id,
        request_timeout_ms=kafka.request_timeout_ms,
        metadata_max_age_ms=METADATA_MAX_AGE_MS,
        graceful_timeout=graceful_timeout,
    )


Batch = tuple["ConsumerRecord[bytes, bytes]", ...]


async def _parse_batch(
    records: Batch, original: Callable[[Batch], Awaitable[StreamMessage[Batch]]]
) -> StreamMessage[Batch]:
    # FastStream decodes every header value as UTF-8 for its own bookkeeping, so one binary header
    # would fail the whole batch before the mesh could dead-letter it, forever. It gets copies
    # with readable headers; the handler gets the records as consumed, bytes untouched.
    readable = tuple(
        dataclasses.replace(
            record,
            headers=[(name, _readable(value)) for name, value in record.headers],
        )
        for record in records
    )
    message = await original(readable)
    message.raw_message = records
    return message


def _readable(value: bytes | None) -> bytes:
    return b"" if value is None else value.decode("utf-8", errors="replace").encode()


async def _no_body(message: StreamMessage[Any]) -> None:
    # The processor decodes each record itself, so that bad JSON reaches the dead-letter path
    # instead of failing in FastStream's decoder.
    return None


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
        batch=True,
        max_records=kafka.batch_max_records,
        batch_timeout_ms=IDLE_POLL_MS,
        parser=_parse_batch,
        decoder=_no_body,
        title=title,
        description=description,
    )
    async def handle(body: None, message: KafkaMessage) -> None:
        records: Batch = message.raw_message
        progress = await processor.process_batch(
            [KafkaRecord.consumed(record) for record in records], time_budget=kafka.batch_max_seconds
        )
        for (topic, partition), offset in progress.resume_at.items():
            try:
                message.consumer.seek(TopicPartition(topic, partition), offset)
            except IllegalStateError:
                # Revoked during the batch: its new owner starts from the last commit, which is
                # at or before this record.
                log.info("%s/%d was revoked before it could be rewound", topic, partition)
