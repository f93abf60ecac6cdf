"""The audit trail as a person reads it: one line per audit event, duplicates (replays) shown once.

A line is ``time  type  subject  summary  short-id``; for a provisioned product, for example:
``2026-11-22T08:05:43Z``, ``product.provisioned``, ``sales.orders``,
``v1.0.0 SALES.ORDERS_V1: 14 statements, 2 round trips`` and ``8a3a33f4``.

Audit ids are derived from the input event's id and the action, so a replayed input produces the
same ``ce_id`` again; :class:`Timeline` keeps the ids it has shown and drops the repeats.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from meshplane.common.events import (
    AuditEventRejected,
    AuditProductProvisioned,
    AuditProductProvisioningFailed,
    AuditProductRetired,
    Envelope,
    EventData,
    EventRejectedError,
    KafkaRecord,
    decode,
)

__all__ = ["Timeline", "format_line", "short_type"]

_SUMMARY_MAX = 120
_TYPE_WIDTH = 28
_SUBJECT_WIDTH = 24


def short_type(event_type: str) -> str:
    """``mesh.audit.product.provisioned.v1`` -> ``product.provisioned``."""
    parts = event_type.split(".")
    if len(parts) > 1 and parts[-1].startswith("v") and parts[-1][1:].isdigit():
        parts = parts[:-1]
    for prefix in (["mesh", "audit"], ["mesh"]):
        if parts[: len(prefix)] == prefix and len(parts) > len(prefix):
            parts = parts[len(prefix) :]
            break
    return ".".join(parts)


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _one_line(text: str, limit: int = _SUMMARY_MAX) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _subject(data: EventData, envelope: Envelope[EventData]) -> str:
    if isinstance(data, AuditProductProvisioned | AuditProductProvisioningFailed | AuditProductRetired):
        return f"{data.domain}.{data.product}"
    if isinstance(data, AuditEventRejected):
        return data.input.key or data.domain or envelope.subject or "-"
    return envelope.subject or data.event_key or "-"


def _summary(data: EventData) -> str:
    if isinstance(data, AuditProductProvisioned):
        summary = (
            f"v{data.version} {data.database}.{data.schema_name}: "
            f"{_plural(len(data.statements), 'statement')}, {_plural(data.round_trips, 'round trip')}"
        )
        if data.http_requests:
            summary += f" ({_plural(data.http_requests, 'HTTP request')})"
        return summary + (", domain created" if data.domain_created else "")
    if isinstance(data, AuditProductProvisioningFailed):
        errno = f" (errno {data.failure.errno})" if data.failure and data.failure.errno is not None else ""
        ran = f", {_plural(len(data.statements), 'statement')} ran" if data.statements else ""
        return f"{data.reason}{errno}{ran}"
    if isinstance(data, AuditProductRetired):
        return f"v{data.major} retired ({data.schema_name}), {_plural(len(data.statements), 'statement')}"
    if isinstance(data, AuditEventRejected):
        return f"{data.reason_code}: {data.reason}"
    return "-"


def _time(value: datetime | None) -> str:
    if value is None:
        return "-"
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_line(envelope: Envelope[EventData]) -> str:
    """One audit event as one line of the timeline."""
    return "  ".join(
        (
            _time(envelope.time),
            short_type(envelope.type).ljust(_TYPE_WIDTH),
            _one_line(_subject(envelope.data, envelope), _SUBJECT_WIDTH * 2).ljust(_SUBJECT_WIDTH),
            _one_line(_summary(envelope.data)),
            envelope.id[:8],
        )
    )


def format_undecodable(record: KafkaRecord, error: EventRejectedError) -> str:
    """A record on the audit topic that is not a readable mesh event (it is shown, not hidden)."""
    return "  ".join(
        (
            "-".ljust(20),
            "(undecodable)".ljust(_TYPE_WIDTH),
            f"{record.topic}[{record.partition}]@{record.offset}".ljust(_SUBJECT_WIDTH),
            _one_line(f"{error.code}: {error.reason}"),
            (error.event_id or "-")[:8],
        )
    )


@dataclass
class Timeline:
    """Decodes audit records into lines, dropping events whose ``ce_id`` was already shown."""

    seen: set[str] = field(default_factory=set)
    duplicates: int = 0

    def lines(self, records: Iterable[KafkaRecord], *, by_time: bool = False) -> list[str]:
        """The new lines for ``records``; ``by_time`` sorts them by event time (for a catch-up read)."""
        decoded: list[tuple[datetime, str]] = []
        for record in records:
            try:
                envelope = decode(record)
            except EventRejectedError as exc:
                if exc.event_id is not None and exc.event_id in self.seen:
                    self.duplicates += 1
                    continue
                if exc.event_id is not None:
                    self.seen.add(exc.event_id)
                decoded.append((datetime.min.replace(tzinfo=UTC), format_undecodable(record, exc)))
                continue
            if envelope.id in self.seen:
                self.duplicates += 1
                continue
            self.seen.add(envelope.id)
            moment = envelope.time.astimezone(UTC) if envelope.time else datetime.min.replace(tzinfo=UTC)
            decoded.append((moment, format_line(envelope)))
        if by_time:
            decoded.sort(key=lambda entry: entry[0])
        return [line for _, line in decoded]
