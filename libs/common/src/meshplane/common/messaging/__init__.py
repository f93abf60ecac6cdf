"""The messaging spine every service shares: the broker, input processing, output production."""

from meshplane.common.messaging.broker import create_broker, subscribe
from meshplane.common.messaging.emitting import (
    Cause,
    Emitter,
    Outcome,
    OutcomeEncoder,
    OutcomeStatus,
    Publication,
)
from meshplane.common.messaging.processing import (
    DEADLETTER_HEADERS,
    HANDLER_ERROR,
    BatchProgress,
    EventContext,
    EventProcessor,
    Failure,
    FailureAudit,
    Work,
)
from meshplane.common.messaging.producer import Delivery, RecordingSink, RecordProducer, RecordSink

__all__ = [
    "DEADLETTER_HEADERS",
    "HANDLER_ERROR",
    "BatchProgress",
    "Cause",
    "Delivery",
    "Emitter",
    "EventContext",
    "EventProcessor",
    "Failure",
    "FailureAudit",
    "Outcome",
    "OutcomeEncoder",
    "OutcomeStatus",
    "Publication",
    "RecordProducer",
    "RecordSink",
    "RecordingSink",
    "Work",
    "create_broker",
    "subscribe",
]
