"""Observability every service shares: tracing over Kafka, Prometheus metrics, probe endpoints.

* :mod:`.tracing` — OpenTelemetry set-up and W3C trace context in Kafka headers;
* :mod:`.metrics` — :class:`ServiceMetrics`, the mesh's metric names in a per-service registry;
* :mod:`.http` — :class:`HealthServer`: ``/healthz``, ``/readyz`` and ``/metrics``.
"""

from meshplane.common.telemetry.http import DEFAULT_CHECK_TIMEOUT_SECONDS, HealthServer, ReadinessCheck
from meshplane.common.telemetry.metrics import (
    OUTCOME_DONE,
    OUTCOME_FAILED,
    OUTCOME_HANDED_BACK,
    OUTCOME_REJECTED,
    OUTCOMES,
    ServiceMetrics,
)
from meshplane.common.telemetry.tracing import (
    TRACER_NAME,
    KafkaHeaders,
    configure_tracing,
    current_trace_id,
    extract_context,
    get_tracer,
    inject_headers,
)

__all__ = [
    "DEFAULT_CHECK_TIMEOUT_SECONDS",
    "OUTCOMES",
    "OUTCOME_DONE",
    "OUTCOME_FAILED",
    "OUTCOME_HANDED_BACK",
    "OUTCOME_REJECTED",
    "TRACER_NAME",
    "HealthServer",
    "KafkaHeaders",
    "ReadinessCheck",
    "ServiceMetrics",
    "configure_tracing",
    "current_trace_id",
    "extract_context",
    "get_tracer",
    "inject_headers",
]
