"""The messaging spine every service shares: the broker, input processing, output production."""

from meshplane.common.messaging.broker import create_broker, declare_outputs, record_of, subscribe
from meshplane.common.messaging.processing import (
    DEADLETTER_HEADERS,
    EventContext,
    EventProcessor,
    Outcome,
    Work,
)
from meshplane.common.messaging.producer import RecordingSink, RecordProducer, RecordSink

__all__ = [
    "DEADLETTER_HEADERS",
    "EventContext",
    "EventProcessor",
    "Outcome",
    "RecordProducer",
    "RecordSink",
    "RecordingSink",
    "Work",
    "create_broker",
    "declare_outputs",
    "record_of",
    "subscribe",
]
