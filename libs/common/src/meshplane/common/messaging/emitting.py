"""Outcomes to records: the audit event and what it publishes beside it, with ids a replay repeats.

:class:`OutcomeEncoder` is how every output of a service gets its bytes and its id, whether it
answers an input event (the :class:`~meshplane.common.messaging.processing.EventProcessor`) or
work a service starts on its own, such as sharing's expiry sweep (:class:`Emitter`). An output's
id is ``uuid5(cause id, cause digest, service/action[/topic])``: work done twice for the same
cause yields the same ids, so consumers drop the repeat by ``ce_id``.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from meshplane.common.events import (
    AUDIT_TOPIC,
    AuditEventData,
    EventData,
    KafkaRecord,
    ServiceRef,
    derived_event_id,
    encode,
)
from meshplane.common.messaging.producer import RecordSink
from meshplane.common.telemetry import ServiceMetrics, inject_headers

__all__ = ["Cause", "Emitter", "Outcome", "OutcomeEncoder", "OutcomeStatus", "Publication"]


class OutcomeStatus(enum.Enum):
    """Whether the work an outcome reports was done, or failed and will not be tried again."""

    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class Publication:
    """An event written with an audit event, in the same batch, before the input's offset is committed.

    The provisioner writes each product's catalog entry this way, and sharing its ledger entries;
    its id is derived like the audit event's, so a replay writes the same record again.
    """

    topic: str
    data: EventData


@dataclass(frozen=True)
class Outcome:
    """One audit event a work function asks to emit; ``action`` makes its id unique per input.

    ``also``: events to write beside it (before it, so that whoever reads the audit event and then
    the catalog finds the catalog already changed).
    """

    action: str
    data: AuditEventData
    status: OutcomeStatus = OutcomeStatus.DONE
    also: tuple[Publication, ...] = ()

    @classmethod
    def done(cls, action: str, data: AuditEventData, *, also: Sequence[Publication] = ()) -> Outcome:
        return cls(action, data, OutcomeStatus.DONE, tuple(also))

    @classmethod
    def failed(cls, action: str, data: AuditEventData) -> Outcome:
        return cls(action, data, OutcomeStatus.FAILED)


@dataclass(frozen=True)
class Cause:
    """What an output answers: its id and content digest give the output's id, its chain the correlation."""

    id: str
    digest: str | None
    chain_id: str


class OutcomeEncoder:
    """Encodes a service's outcomes as records: publications first, then the audit event."""

    def __init__(self, service: ServiceRef) -> None:
        self.service = service
        self.source = f"/meshplane/{service.name}"

    def records(self, outcome: Outcome, cause: Cause) -> list[KafkaRecord]:
        action = f"{self.service.name}/{outcome.action}"
        published = [
            self.encode(
                p.data, p.topic, derived_event_id(cause.id, f"{action}/{p.topic}", cause.digest), cause
            )
            for p in outcome.also
        ]
        audit = self.encode(
            outcome.data, AUDIT_TOPIC, derived_event_id(cause.id, action, cause.digest), cause
        )
        return [*published, audit]

    def encode(self, data: EventData, topic: str, event_id: str, cause: Cause) -> KafkaRecord:
        return encode(
            data,
            topic=topic,
            source=self.source,
            event_id=event_id,
            correlation_id=cause.chain_id,
            causation_id=cause.id,
            extra_headers=inject_headers(),
        )


class Emitter:
    """Produces the outcomes of work no input event asked for (a sweep), and waits until they are durable."""

    def __init__(self, service: ServiceRef, sink: RecordSink, metrics: ServiceMetrics) -> None:
        self.encoder = OutcomeEncoder(service)
        self._sink = sink
        self._metrics = metrics

    @property
    def service(self) -> ServiceRef:
        return self.encoder.service

    async def emit(self, outcomes: Sequence[tuple[Outcome, Cause]]) -> None:
        records = [record for outcome, cause in outcomes for record in self.encoder.records(outcome, cause)]
        await (await self._sink.enqueue(records))
        for outcome, _cause in outcomes:
            self._metrics.audit_out.labels(type=outcome.data.EVENT_TYPE).inc()
