"""How every service takes its input: a batch of records, each decoded → worked → emitted.

:class:`EventProcessor` is the part of a consumer that is the same in every service. For each
record of a batch, in order, it

1. decodes it (:func:`~meshplane.common.events.envelope.decode`) and checks that its type is one
   the service takes, and that its id was not taken before with other content (``id-reused``);
   input that cannot be taken goes to ``mesh.deadletter`` — original key, value and headers, plus
   the reason — and an ``event.rejected`` audit event tells the publisher why. Nothing else runs
   for it;
2. calls the service's work function. Failures are sorted as in
   :mod:`meshplane.common.errors`: a temporary error (Snowflake's transient ones among them) is
   retried with exponential backoff and jitter while the partition waits (the consumer keeps
   heartbeating, so it stays in its group); a permanent error becomes the service's failure audit
   event; an unexpected exception is retried a few times, then the record is dead-lettered
   (``handler-error``) with the failure audit event, so one bug never holds a partition;
3. queues the audit events the work returned (and what they ask to publish beside them, such as
   the provisioner's catalog entries), with ids derived from the input's id, its content digest
   and the action, so a replay yields the same ids. They leave at once; the processor waits for
   their acknowledgements together, once per batch.

:meth:`EventProcessor.process_batch` returns once every output of the records it took is
acknowledged, and says where each partition must resume: the caller commits the rest. A
partition stops at a record whose work still fails temporarily when the retry budget is spent:
that record and the partition's later ones are not taken, so Kafka delivers them again, in order.
Other partitions go on. A batch also stops taking records after its time budget, so that one
batch never holds the consumer long past a shutdown or a rebalance.

A crash anywhere before the commit means records are processed again, which every work function
must tolerate (plans are idempotent, audit ids are derived).
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from opentelemetry import trace
from tenacity import AsyncRetrying, RetryCallState, retry_if_not_exception_type, wait_exponential_jitter

from meshplane.common.errors import PermanentError, TemporaryError
from meshplane.common.events import (
    AUDIT_TOPIC,
    DEADLETTER_TOPIC,
    AuditEventRejected,
    Envelope,
    EventData,
    EventRejectedError,
    InputRef,
    KafkaRecord,
    ServiceRef,
    content_digest,
    decode,
    derived_event_id,
    domain_of_topic,
)
from meshplane.common.messaging.emitting import Cause, Outcome, OutcomeEncoder, OutcomeStatus, Publication
from meshplane.common.messaging.producer import Delivery, RecordSink
from meshplane.common.settings import RetrySettings
from meshplane.common.snowflake.errors import SnowflakeGatewayError
from meshplane.common.snowflake.statements import QUERY_TAG_MAX_LENGTH
from meshplane.common.telemetry import (
    OUTCOME_DONE,
    OUTCOME_FAILED,
    OUTCOME_HANDED_BACK,
    OUTCOME_REJECTED,
    ServiceMetrics,
    current_trace_id,
    extract_context,
    get_tracer,
)

__all__ = [
    "DEADLETTER_HEADERS",
    "HANDLER_ERROR",
    "BatchProgress",
    "EventContext",
    "EventProcessor",
    "Failure",
    "FailureAudit",
    "Outcome",
    "OutcomeStatus",
    "Publication",
    "Work",
]

log = logging.getLogger(__name__)

#: Headers a dead letter adds to the rejected record's own.
DEADLETTER_HEADERS = (
    "mesh_deadletter_reason",
    "mesh_deadletter_detail",
    "mesh_deadletter_service",
    "mesh_original_topic",
    "mesh_original_partition",
    "mesh_original_offset",
)

#: The dead-letter reason of an event whose handler kept raising an unexpected exception.
HANDLER_ERROR: Final = "handler-error"
#: How many input ids (with their content digests) a processor remembers to tell a replay (same id,
#: same bytes) from a reused id (same id, other content). ~100 bytes each.
SEEN_IDS: Final = 100_000


@dataclass(frozen=True)
class EventContext:
    """What a work function knows about the event besides its data."""

    service: ServiceRef
    input: InputRef
    trace_id: str | None
    #: When the event happened (its ``ce_time``), if it says; what a decision's clock starts from,
    #: so that the event taken twice decides the same.
    time: datetime | None = None

    @property
    def query_tag(self) -> str:
        """The QUERY_TAG of every statement run for this event: service, event and trace.

        JSON, so that cost attribution and auditors can parse it out of QUERY_HISTORY.
        """
        tag = json.dumps(
            {"service": self.service.name, "event": self.input.id, "trace": self.trace_id},
            separators=(",", ":"),
        )
        return tag[:QUERY_TAG_MAX_LENGTH]


@dataclass(frozen=True)
class Failure:
    """Why the work for an event failed for good: what the service's failure audit event says.

    ``error`` is what the handler raised; ``unexpected`` says it was neither a temporary nor a
    permanent error (the record is dead-lettered as ``handler-error`` as well).
    """

    reason: str
    error: BaseException
    unexpected: bool = False

    @classmethod
    def of(cls, error: BaseException, *, attempts: int = 1) -> Failure:
        if isinstance(error, SnowflakeGatewayError):
            return cls(f"Snowflake refused: {error}", error)
        if isinstance(error, PermanentError):
            return cls(error.reason, error)
        text = str(error)
        described = f"{type(error).__name__}: {text}" if text else type(error).__name__
        noun = "attempt" if attempts == 1 else "attempts"
        return cls(f"unexpected error after {attempts} {noun}: {described}", error, unexpected=True)


Work = Callable[[Envelope[EventData], EventContext], Awaitable[Sequence[Outcome]]]
#: Turns a failure into the service's failure audit event (made a failed outcome by the processor).
FailureAudit = Callable[[Envelope[EventData], Failure, EventContext], Outcome]

#: A partition of a topic: ``(topic, partition)``.
TopicPartition = tuple[str, int]


@dataclass(frozen=True)
class BatchProgress:
    """What became of a batch: how many records were taken, and where stopped partitions resume.

    ``resume_at`` maps each partition that stopped early to the offset of its first record not
    taken; the consumer seeks there, so that record is delivered again. Every other record of the
    batch was taken and its output acknowledged.
    """

    taken: int
    resume_at: Mapping[TopicPartition, int]


class EventProcessor:
    def __init__(
        self,
        *,
        service: ServiceRef,
        sink: RecordSink,
        metrics: ServiceMetrics,
        retry: RetrySettings,
        work: Work,
        failed: FailureAudit,
        accepts: frozenset[str],
        before_batch: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._service = service
        self._sink = sink
        self._metrics = metrics
        self._retry = retry
        self._work = work
        self._failed = failed
        self._accepts = accepts
        self._before_batch = before_batch
        # Input id -> content digest, most recent last; bounded, so only "where it can know".
        self._seen: collections.OrderedDict[str, str] = collections.OrderedDict()
        self._encoder = OutcomeEncoder(service)

    async def process_batch(self, records: Sequence[KafkaRecord], *, time_budget: float) -> BatchProgress:
        """Take ``records`` in order; return once the outputs of those taken are acknowledged.

        ``time_budget``: seconds after which no further record is started (the one in hand is
        finished). Raises only if producing the outputs fails, in which case nothing of the
        batch may be committed.
        """
        deadline = time.monotonic() + time_budget
        if self._before_batch is not None:
            await self._before_batch()  # e.g. the catalog caught up with what other replicas wrote
        deliveries: list[Delivery] = []
        resume_at: dict[TopicPartition, int] = {}
        taken = 0
        for record in records:
            partition = (record.topic, record.partition)
            if partition in resume_at:
                continue  # stopped earlier in this batch: later records wait behind the stuck one
            if time.monotonic() >= deadline:
                resume_at[partition] = record.offset
                continue
            try:
                outputs = await self._take(record)
            except Exception:
                # A temporary failure outlived the retry budget: hand the record back to Kafka.
                log.exception(
                    "gave up on %s/%d/%d for now; it will be delivered again",
                    record.topic,
                    record.partition,
                    record.offset,
                )
                self._metrics.events_in.labels(type=_type_label(record), outcome=OUTCOME_HANDED_BACK).inc()
                resume_at[partition] = record.offset
                continue
            deliveries.append(await self._sink.enqueue(outputs))
            taken += 1
        await asyncio.gather(*deliveries)
        return BatchProgress(taken=taken, resume_at=resume_at)

    async def _take(self, record: KafkaRecord) -> list[KafkaRecord]:
        """Decode, work and build the output records of one input record."""
        started = time.perf_counter()
        input_ref = InputRef(
            id=_header_text(record, "ce_id"),
            type=_header_text(record, "ce_type"),
            source=_header_text(record, "ce_source"),
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key=None if record.key is None else record.key.decode("utf-8", errors="replace"),
            digest=content_digest(record),
        )
        type_label = _type_label(record)
        parent = extract_context(record.headers)
        with get_tracer().start_as_current_span(
            f"process {type_label}",
            context=parent,
            kind=trace.SpanKind.CONSUMER,
            attributes={
                "messaging.system": "kafka",
                "messaging.destination.name": record.topic,
                "messaging.kafka.message.offset": record.offset,
                "messaging.kafka.destination.partition": record.partition,
                "messaging.message.id": input_ref.id or "",
                "cloudevents.event_type": type_label,
            },
        ) as span:
            try:
                envelope = decode(record, accepts=self._accepts)
                self._check_not_reused(envelope.id, input_ref.digest)
            except EventRejectedError as rejection:
                span.set_attribute("meshplane.rejected", rejection.code)
                self._metrics.events_in.labels(type=type_label, outcome=OUTCOME_REJECTED).inc()
                return self._rejected(record, input_ref, rejection)
            context = EventContext(
                service=self._service, input=input_ref, trace_id=current_trace_id(), time=envelope.time
            )
            outputs: list[KafkaRecord] = []
            try:
                outcomes = await self._work_with_retries(envelope, context)
            except TemporaryError:
                raise
            except Exception as error:
                failure = Failure.of(error, attempts=self._retry.unexpected_attempts)
                span.record_exception(error)
                if failure.unexpected:
                    log.exception("the handler of %s kept failing; dead-lettering it", envelope.id)
                    outputs.append(self._dead_letter(record, HANDLER_ERROR, failure.reason))
                outcome = self._failed(envelope, failure, context)
                outcomes = [Outcome.failed(outcome.action, outcome.data)]
            cause = Cause(envelope.id, input_ref.digest, envelope.chain_id)
            for outcome in outcomes:
                outputs.extend(self._encoder.records(outcome, cause))
            for outcome in outcomes:
                self._metrics.audit_out.labels(type=outcome.data.EVENT_TYPE).inc()
            failed = any(outcome.status is OutcomeStatus.FAILED for outcome in outcomes)
            self._metrics.events_in.labels(
                type=type_label, outcome=OUTCOME_FAILED if failed else OUTCOME_DONE
            ).inc()
            self._metrics.handler_seconds.labels(type=type_label).observe(time.perf_counter() - started)
            return outputs

    async def _work_with_retries(
        self, envelope: Envelope[EventData], context: EventContext
    ) -> Sequence[Outcome]:
        """The work's outcomes; raises what it raised once retrying is over (see the module doc)."""
        retry = self._retry
        # Up to `initial_seconds` of jitter, so replicas that failed together do not retry together.
        backoff = wait_exponential_jitter(
            multiplier=retry.initial_seconds, max=retry.max_seconds, jitter=retry.initial_seconds
        )

        def wait(state: RetryCallState) -> float:
            error = _error_of(state)
            asked = error.delay if isinstance(error, TemporaryError) and error.delay is not None else 0.0
            return max(asked, backoff(state))

        def give_up(state: RetryCallState) -> bool:
            if isinstance(_error_of(state), TemporaryError):
                return (state.seconds_since_start or 0.0) >= retry.budget_seconds
            return state.attempt_number >= retry.unexpected_attempts

        def before_sleep(state: RetryCallState) -> None:
            self._metrics.retries.inc()
            error = _error_of(state)
            kind = "temporary" if isinstance(error, TemporaryError) else "unexpected"
            log.warning(
                "%s failure on %s (attempt %d), retrying: %r", kind, envelope.id, state.attempt_number, error
            )

        async for attempt in AsyncRetrying(
            retry=retry_if_not_exception_type(PermanentError),
            wait=wait,
            stop=give_up,
            before_sleep=before_sleep,
            reraise=True,
        ):
            with attempt:
                return await self._work(envelope, context)
        raise AssertionError("unreachable: AsyncRetrying either returns or re-raises")

    def _check_not_reused(self, event_id: str, digest: str | None) -> None:
        """Refuse an id seen before with other content: it would pass for a replay of the first."""
        assert digest is not None
        seen = self._seen.get(event_id)
        if seen is not None and seen != digest:
            raise EventRejectedError(
                "id-reused",
                f"event id {event_id[:100]!a} was taken before with different content; a replay must be "
                "byte-identical, a new event needs a new id",
                event_id=event_id,
            )
        self._seen[event_id] = digest
        self._seen.move_to_end(event_id)
        if len(self._seen) > SEEN_IDS:
            self._seen.popitem(last=False)

    def _dead_letter(self, record: KafkaRecord, reason: str, detail: str) -> KafkaRecord:
        """``record`` as it arrived, on the dead-letter topic, with why and where it came from."""
        self._metrics.dead_letters.labels(reason=reason).inc()
        return KafkaRecord(
            topic=DEADLETTER_TOPIC,
            key=record.key,
            value=record.value,
            headers=(
                *record.headers,
                ("mesh_deadletter_reason", reason.encode()),
                ("mesh_deadletter_detail", detail.encode("utf-8", errors="replace")),
                ("mesh_deadletter_service", self._service.name.encode()),
                ("mesh_original_topic", record.topic.encode()),
                ("mesh_original_partition", str(record.partition).encode()),
                ("mesh_original_offset", str(record.offset).encode()),
            ),
        )

    def _rejected(
        self, record: KafkaRecord, input_ref: InputRef, rejection: EventRejectedError
    ) -> list[KafkaRecord]:
        """The dead letter and the ``event.rejected`` audit event of input that cannot be taken."""
        dead_letter = self._dead_letter(record, rejection.code, rejection.reason)
        # An input without a readable id is named by where it sits in the log: stable on replay.
        input_id = rejection.event_id or f"{record.topic}/{record.partition}/{record.offset}"
        audit = AuditEventRejected(
            service=self._service,
            input=input_ref,
            reason_code=rejection.code,
            reason=rejection.reason,
            domain=domain_of_topic(record.topic),
        )
        audit_record = self._encoder.encode(
            audit,
            AUDIT_TOPIC,
            derived_event_id(input_id, f"{self._service.name}/rejected", input_ref.digest),
            Cause(input_id, input_ref.digest, input_id),
        )
        log.warning(
            "rejected %s at %s/%d/%d: %s", input_id, record.topic, record.partition, record.offset, rejection
        )
        self._metrics.audit_out.labels(type=AuditEventRejected.EVENT_TYPE).inc()
        return [dead_letter, audit_record]


def _error_of(state: RetryCallState) -> BaseException | None:
    return state.outcome.exception() if state.outcome is not None else None


def _type_label(record: KafkaRecord) -> str:
    return _header_text(record, "ce_type") or "unreadable"


def _header_text(record: KafkaRecord, name: str) -> str | None:
    value = record.header(name)
    return None if value is None else value.decode("utf-8", errors="replace")
