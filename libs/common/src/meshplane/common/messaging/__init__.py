"""The messaging spine every service shares: the broker, input processing, output production."""

from meshplane.common.messaging.broker import create_broker, declare_outputs, subscribe
from meshplane.common.messaging.processing import (
    DEADLETTER_HEADERS,
    BatchProgress,
    EventContext,
    EventProcessor,
    Outcome,
    Work,
)
from meshplane.common.messaging.producer import Delivery, RecordingSink, RecordProducer, RecordSink

__all__ = [
    "DEADLETTER_HEADERS",
    "BatchProgress",
    "Delivery",
    "EventContext",
    "EventProcessor",
    "Outcome",
    "RecordProducer",
    "RecordSink",
    "RecordingSink",
    "Work",
    "create_broker",
    "declare_outputs",
    "subscribe",
]
