"""Mesh events on Kafka: CloudEvents 1.0 in binary mode, through the ``cloudevents`` package's binding.

On the wire an event is a Kafka record whose ``ce_*`` headers hold the CloudEvents attributes,
whose ``content-type`` header is ``application/json``, whose value is the JSON data, and whose key
is the product id (https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/bindings/kafka-protocol-binding.md).
Trace context travels in the W3C ``traceparent`` header, beside the CloudEvents headers.

:func:`decode` is the mesh's front door. It either returns a typed :class:`Envelope` or raises
:class:`EventRejectedError` with one of the reasons a publisher is told about (bad JSON, not a
CloudEvent, unknown type, schema error, unsafe name, spoofed domain). It never raises anything else
for any input bytes.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Generic, TypeVar

from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from pydantic import ValidationError

from meshplane.common.events.audit import RejectionReason
from meshplane.common.events.base import EVENT_TYPES, EventData
from meshplane.common.events.product import UNSAFE_NAME_ERROR
from meshplane.common.events.topics import domain_of_topic

__all__ = [
    "CAUSATION_ID",
    "CORRELATION_ID",
    "MAX_FUTURE_SECONDS",
    "Envelope",
    "EventRejectedError",
    "KafkaRecord",
    "content_digest",
    "decode",
    "derived_event_id",
    "encode",
]

#: CloudEvents extension attributes (names are lower-case alphanumerics, per the spec).
CAUSATION_ID: Final = "causationid"
CORRELATION_ID: Final = "correlationid"

_REQUIRED_HEADERS: Final = ("ce_specversion", "ce_id", "ce_source", "ce_type")
_JSON: Final = JSONFormat()
_CONTENT_TYPE: Final = "application/json"
# Any fixed UUID: it only has to be the same everywhere, so that derived ids are.
_MESH_NAMESPACE: Final = uuid.UUID("6f1d7f0c-5b8a-4c1e-9a43-0c5e2f3a8d71")
# Reasons quote at most this much of the offending input.
_PREVIEW: Final = 200
#: An event time further ahead of the mesh's clock than this is refused: no publisher's clock is an
#: hour fast, and a time from the future would sort the audit trail and cost periods wrongly.
MAX_FUTURE_SECONDS: Final = 3600

_D = TypeVar("_D", bound=EventData)


def derived_event_id(input_id: str, action: str, digest: str | None = None) -> str:
    """The id of the event that ``action`` produces from an input: the same on every replay.

    ``digest`` is the input's :func:`content_digest`: a replay is the same id with the same bytes,
    so an id reused for different content yields different derived ids, and a consumer that drops
    duplicates by ``ce_id`` keeps the record of both.
    """
    seed = input_id if digest is None else f"{input_id}\n{digest}"
    return str(uuid.uuid5(_MESH_NAMESPACE, f"{seed}\n{action}"))


def content_digest(record: KafkaRecord) -> str:
    """SHA-256 of what an input says: its ``ce_type`` and its value, byte for byte (hex)."""
    digest = hashlib.sha256(record.header("ce_type") or b"")
    digest.update(b"\n")
    digest.update(record.value)
    return digest.hexdigest()


@dataclass(frozen=True)
class KafkaRecord:
    """One record as it is produced or was consumed: what the mesh needs of it, client-agnostic."""

    topic: str
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...]
    partition: int = -1
    offset: int = -1

    @classmethod
    def consumed(cls, message: Any) -> KafkaRecord:
        """A record read by a Kafka client (an aiokafka ``ConsumerRecord`` or anything shaped like one)."""
        return cls(
            topic=message.topic,
            key=message.key,
            value=message.value if message.value is not None else b"",
            headers=tuple((name, value if value is not None else b"") for name, value in message.headers),
            partition=message.partition,
            offset=message.offset,
        )

    def header(self, name: str) -> bytes | None:
        """The last value of header ``name`` (header names compare case-insensitively)."""
        found = None
        for key, value in self.headers:
            if key.lower() == name:
                found = value
        return found


@dataclass(frozen=True)
class Envelope(Generic[_D]):
    """A decoded event: its CloudEvents attributes and its typed data."""

    id: str
    type: str
    source: str
    data: _D
    time: datetime | None = None
    subject: str | None = None
    correlation_id: str | None = None
    causation_id: str | None = None
    traceparent: str | None = None
    extensions: dict[str, Any] = field(default_factory=dict)

    @property
    def chain_id(self) -> str:
        """The correlation id of the whole chain this event belongs to (itself if it starts one)."""
        return self.correlation_id or self.id


class EventRejectedError(Exception):
    """An input the mesh will not take, with the reason code and the words the publisher gets."""

    def __init__(
        self,
        code: RejectionReason,
        reason: str,
        *,
        event_id: str | None = None,
        event_type: str | None = None,
    ) -> None:
        self.code = code
        self.reason = reason
        self.event_id = event_id
        self.event_type = event_type
        super().__init__(f"{code}: {reason}")


def encode(
    data: EventData,
    *,
    topic: str,
    source: str,
    event_id: str | None = None,
    time: datetime | None = None,
    subject: str | None = None,
    correlation_id: str | None = None,
    causation_id: str | None = None,
    extra_headers: Iterable[tuple[str, bytes]] = (),
) -> KafkaRecord:
    """Turn event data into a Kafka record in CloudEvents binary mode, keyed by the product id."""
    attributes: dict[str, Any] = {
        "id": event_id or str(uuid.uuid4()),
        "source": source,
        "type": data.EVENT_TYPE,
        "specversion": "1.0",
        "time": time or datetime.now(UTC),
        "datacontenttype": _CONTENT_TYPE,
    }
    subject = subject or data.event_key
    if subject:
        attributes["subject"] = subject
    if correlation_id:
        attributes[CORRELATION_ID] = correlation_id
    if causation_id:
        attributes[CAUSATION_ID] = causation_id
    event = CloudEvent(
        attributes=attributes, data=data.model_dump(mode="json", by_alias=True, exclude_none=True)
    )
    key = data.event_key
    message = ce_kafka.to_binary(event, _JSON, key_mapper=lambda _event: key)
    record_key = message.key.encode() if isinstance(message.key, str) else message.key
    return KafkaRecord(
        topic=topic,
        key=record_key,
        value=message.value,
        headers=tuple(message.headers.items()) + tuple(extra_headers),
    )


def _text(value: bytes | None) -> str | None:
    if value is None:
        return None
    return value.decode("utf-8", errors="replace")


def decode(record: KafkaRecord, *, accepts: frozenset[str] | None = None) -> Envelope[EventData]:
    """Read a consumed record into a typed event, or raise :class:`EventRejectedError` saying why not.

    ``accepts``: the event types the consumer takes; any other type is refused as unknown to it
    before its data is read (None: every registered type).
    """
    missing = [name for name in _REQUIRED_HEADERS if record.header(name) is None]
    event_id, type_name = _text(record.header("ce_id")), _text(record.header("ce_type"))
    if missing:
        raise EventRejectedError(
            "not-a-cloudevent",
            f"missing CloudEvents header(s) {', '.join(missing)} (binary mode: attributes in ce_* headers)",
            event_id=event_id,
            event_type=type_name,
        )
    if record.header("ce_specversion") != b"1.0":
        raise EventRejectedError(
            "not-a-cloudevent", "ce_specversion must be 1.0", event_id=event_id, event_type=type_name
        )
    content_type = _text(record.header("content-type")) or ""
    if content_type.split(";", 1)[0].strip().lower() != _CONTENT_TYPE:
        raise EventRejectedError(
            "bad-json",
            f"content-type is {content_type[:_PREVIEW]!a}, expected {_CONTENT_TYPE}",
            event_id=event_id,
            event_type=type_name,
        )
    # Both are required headers, checked above.
    assert type_name is not None
    assert event_id is not None
    model = EVENT_TYPES.get(type_name)
    if model is None or (accepts is not None and type_name not in accepts):
        raise EventRejectedError(
            "unknown-type",
            f"unknown event type {type_name[:_PREVIEW]!a}"
            if model is None
            else f"{type_name[:_PREVIEW]!a} is not an event type this consumer takes",
            event_id=event_id,
            event_type=type_name,
        )

    headers = {name.lower(): value for name, value in record.headers}
    try:
        # Only the CloudEvents headers go to the binding: it reads every header it is given.
        event = ce_kafka.from_binary(
            ce_kafka.KafkaMessage(
                headers={k: v for k, v in headers.items() if k.startswith("ce_") or k == "content-type"},
                key=record.key,
                value=record.value,
            ),
            _JSON,
        )
    except Exception as exc:  # the binding raises assorted errors for malformed attributes
        raise EventRejectedError(
            "not-a-cloudevent",
            f"invalid CloudEvents attributes: {str(exc)[:_PREVIEW]}",
            event_id=event_id,
            event_type=type_name,
        ) from None
    payload = event.get_data()
    if not isinstance(payload, dict):
        raise EventRejectedError(
            "bad-json",
            "the value is not a JSON object (or not valid UTF-8 JSON at all)",
            event_id=event_id,
            event_type=type_name,
        )
    try:
        data = model.model_validate(payload)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        code: RejectionReason = (
            "unsafe-name" if any(error["type"] == UNSAFE_NAME_ERROR for error in errors) else "schema-error"
        )
        described = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'data'}: {error['msg']}"
            for error in errors[:5]
        )
        raise EventRejectedError(
            code, described[: _PREVIEW * 4], event_id=event_id, event_type=type_name
        ) from None

    moment = event.get_time()
    if moment is not None:
        aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
        if aware - datetime.now(UTC) > timedelta(seconds=MAX_FUTURE_SECONDS):
            raise EventRejectedError(
                "schema-error",
                f"ce_time {aware.isoformat()} is more than {MAX_FUTURE_SECONDS // 3600} h ahead of the "
                "mesh's clock; send the time the event happened",
                event_id=event_id,
                event_type=type_name,
            )

    topic_domain = domain_of_topic(record.topic)
    if topic_domain is not None and data.event_domain != topic_domain:
        raise EventRejectedError(
            "spoofed-domain",
            f"the event speaks for domain {data.event_domain!a} but arrived on {record.topic}, "
            f"the topic of {topic_domain!a}",
            event_id=event_id,
            event_type=type_name,
        )

    expected_key = data.event_key
    if expected_key is not None and record.key is not None and record.key != expected_key.encode():
        # The key is what keeps one product's events in order on one partition; an event keyed
        # otherwise could be taken beside (or before) the product's other events.
        raise EventRejectedError(
            "schema-error",
            f"the record's key {record.key[:_PREVIEW].decode('utf-8', errors='replace')!a} is not the "
            f"event's key {expected_key!a} (the product id)",
            event_id=event_id,
            event_type=type_name,
        )

    extensions = {
        name: value
        for name, value in event.get_attributes().items()
        if name
        not in {"id", "source", "type", "specversion", "time", "subject", "datacontenttype", "dataschema"}
    }
    return Envelope(
        id=event_id,
        type=type_name,
        source=event.get_source(),
        data=data,
        time=event.get_time(),
        subject=event.get_subject(),
        correlation_id=_str_or_none(extensions.get(CORRELATION_ID)),
        causation_id=_str_or_none(extensions.get(CAUSATION_ID)),
        traceparent=_text(headers.get("traceparent")),
        extensions=extensions,
    )


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None
