"""Distributed tracing for every service: one OpenTelemetry tracer provider, W3C context over Kafka.

A service calls :func:`configure_tracing` once at start-up. Handlers start spans from
:func:`get_tracer`, continue the publisher's trace with :func:`extract_context` on the consumed
record's headers, and put :func:`inject_headers` on every record they publish, so one trace
follows an event from its publisher through every service that reacts to it.
:func:`current_trace_id` is what goes into Snowflake ``QUERY_TAG``\\ s and log lines, so a query in
Snowflake's history can be joined to its trace.

Export is opt-in: spans go to an OTLP/HTTP collector only when ``OTEL_EXPORTER_OTLP_ENDPOINT`` or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` is set (the exporter reads its other ``OTEL_EXPORTER_OTLP_*``
variables itself). Without one, spans are still created, so trace ids exist for query tags,
audit events and logs, but nothing leaves the process.

The propagation format is fixed to W3C Trace Context (``traceparent``/``tracestate``) rather than
taken from ``OTEL_PROPAGATORS``: it is part of the mesh's event contract, and every consumer,
including ones outside the mesh, must be able to read it.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Mapping

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.propagators.textmap import Getter
from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_VERSION, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

__all__ = [
    "TRACER_NAME",
    "KafkaHeaders",
    "configure_tracing",
    "current_trace_id",
    "extract_context",
    "get_tracer",
    "inject_headers",
]

logger = logging.getLogger(__name__)

TRACER_NAME = "meshplane"

_ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")

#: Kafka record headers as aiokafka gives them (``(name, value)`` pairs; a value may be ``None``),
#: or already decoded into a mapping, as some FastStream message views present them.
KafkaHeaders = Iterable[tuple[str, bytes | str | None]] | Mapping[str, bytes | str | None]

_PROPAGATOR = TraceContextTextMapPropagator()
_configure_lock = threading.Lock()
_configured: tuple[str, str] | None = None


def configure_tracing(service_name: str, service_version: str) -> TracerProvider:
    """Install the process's tracer provider, naming the service in its resource; return it.

    OpenTelemetry allows one global provider per process, so a second call (tests build many
    apps in one process) returns the provider already installed instead of replacing it, and
    says so in the log when it names another service. Nothing here stops start-up: an exporter
    that cannot be built is logged and spans are then kept in-process only.
    """
    global _configured
    with _configure_lock:
        installed = trace.get_tracer_provider()
        if isinstance(installed, TracerProvider):
            if _configured is not None and _configured != (service_name, service_version):
                logger.warning(
                    "tracing is already configured for %s %s; keeping it (one provider per process)",
                    *_configured,
                )
            return installed

        provider = TracerProvider(
            # Our attributes are merged last, so they win over OTEL_SERVICE_NAME and
            # OTEL_RESOURCE_ATTRIBUTES; the rest of those variables still applies.
            resource=Resource.create({SERVICE_NAME: service_name, SERVICE_VERSION: service_version})
        )
        if any(os.environ.get(name, "").strip() for name in _ENDPOINT_VARIABLES):
            _add_otlp_exporter(provider)
        trace.set_tracer_provider(provider)
        _configured = (service_name, service_version)
        return provider


def _add_otlp_exporter(provider: TracerProvider) -> None:
    try:
        # Imported here so a service without an endpoint never loads protobuf and requests.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        # The exporter reads the endpoint, headers, timeout and TLS files from the environment.
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    except Exception:
        logger.exception("cannot export spans over OTLP; spans stay in this process")


def get_tracer() -> trace.Tracer:
    """The mesh's tracer ("meshplane"), from the global provider.

    Before :func:`configure_tracing` this is OpenTelemetry's proxy tracer, which starts using the
    real provider as soon as one is installed, so modules may take it at import time.
    """
    return trace.get_tracer(TRACER_NAME)


class _KafkaHeaderGetter(Getter[Mapping[str, list[str]]]):
    def get(self, carrier: Mapping[str, list[str]], key: str) -> list[str] | None:
        return carrier.get(key.lower())

    def keys(self, carrier: Mapping[str, list[str]]) -> list[str]:
        return list(carrier)


_GETTER = _KafkaHeaderGetter()


def _header_values(headers: KafkaHeaders) -> dict[str, list[str]]:
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    values: dict[str, list[str]] = {}
    for name, value in pairs:
        if value is None:
            continue
        # Kafka header names are case-sensitive, but W3C names come from HTTP where they are
        # not; a publisher writing "Traceparent" still means the same thing.
        text = value.decode("utf-8", errors="replace") if isinstance(value, bytes) else value
        values.setdefault(name.lower(), []).append(text)
    return values


def extract_context(headers: KafkaHeaders) -> Context:
    """The trace context a consumed record carries in its W3C headers.

    A record without valid ``traceparent`` gives an empty context, and a span started in it
    begins a new trace; a malformed header never raises.
    """
    return _PROPAGATOR.extract(_header_values(headers), getter=_GETTER)


def inject_headers(context: Context | None = None) -> list[tuple[str, bytes]]:
    """W3C ``traceparent`` (and ``tracestate`` if any) for an outgoing Kafka record.

    Uses the current span, or the span in ``context``; empty when there is no valid span.
    """
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier, context=context)
    return [(name, value.encode("ascii")) for name, value in carrier.items()]


def current_trace_id() -> str | None:
    """The current span's trace id as 32 lowercase hex digits, or ``None`` outside a valid span."""
    span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid:
        return None
    return trace.format_trace_id(span_context.trace_id)
