"""Tracing: W3C context over Kafka headers, trace ids, and the provider set-up."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http import trace_exporter
from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_VERSION
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.util._once import Once

from meshplane.common.telemetry import tracing
from meshplane.common.telemetry.tracing import (
    configure_tracing,
    current_trace_id,
    extract_context,
    get_tracer,
    inject_headers,
)

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{SPAN_ID}-01"

# A provider of the test's own, so these tests need no global set-up and leave none behind.
local_tracer = TracerProvider().get_tracer("test")


def test_current_trace_id_is_none_outside_a_span() -> None:
    assert current_trace_id() is None


def test_current_trace_id_inside_a_span_is_32_hex() -> None:
    with local_tracer.start_as_current_span("work") as span:
        trace_id = current_trace_id()
        assert trace_id == format(span.get_span_context().trace_id, "032x")
    assert trace_id is not None
    assert len(trace_id) == 32
    assert current_trace_id() is None


def test_inject_outside_a_span_gives_no_headers() -> None:
    assert inject_headers() == []


def test_inject_then_extract_round_trip() -> None:
    with local_tracer.start_as_current_span("publish") as span:
        headers = inject_headers()
    sent = span.get_span_context()

    assert [name for name, _ in headers] == ["traceparent"]
    assert all(isinstance(value, bytes) for _, value in headers)

    received = trace.get_current_span(extract_context(headers)).get_span_context()
    assert received.is_valid
    assert received.is_remote
    assert (received.trace_id, received.span_id, received.trace_flags) == (
        sent.trace_id,
        sent.span_id,
        sent.trace_flags,
    )


def test_extracted_traceparent_is_continued_by_a_child_span() -> None:
    headers = [("ce_id", b"e-1"), ("traceparent", TRACEPARENT.encode()), ("tracestate", b"vendor=x")]
    with local_tracer.start_as_current_span("consume", context=extract_context(headers)) as span:
        assert current_trace_id() == TRACE_ID
        assert isinstance(span, ReadableSpan)
        assert span.parent is not None
        assert format(span.parent.span_id, "016x") == SPAN_ID
        forwarded = dict(inject_headers())
    assert forwarded["traceparent"].decode().split("-")[1] == TRACE_ID
    assert forwarded["tracestate"] == b"vendor=x"


def test_inject_for_a_given_context() -> None:
    context = extract_context([("traceparent", TRACEPARENT.encode())])
    assert inject_headers(context) == [("traceparent", TRACEPARENT.encode())]


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param([("Traceparent", TRACEPARENT.encode())], id="capitalised-name"),
        pytest.param([("traceparent", TRACEPARENT)], id="str-value"),
        pytest.param({"traceparent": TRACEPARENT.encode()}, id="mapping"),
        pytest.param([("ce_id", None), ("traceparent", TRACEPARENT.encode())], id="null-header-value"),
    ],
)
def test_extract_accepts_the_shapes_headers_come_in(headers: tracing.KafkaHeaders) -> None:
    assert trace.get_current_span(extract_context(headers)).get_span_context().trace_id == int(TRACE_ID, 16)


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param([], id="none"),
        pytest.param([("traceparent", b"garbage")], id="garbage"),
        pytest.param([("traceparent", b"\xff\xfe")], id="not-utf8"),
        pytest.param([("traceparent", f"00-{'0' * 32}-{SPAN_ID}-01".encode())], id="zero-trace-id"),
    ],
)
def test_extract_without_a_valid_traceparent_gives_an_empty_context(headers: tracing.KafkaHeaders) -> None:
    assert not trace.get_current_span(extract_context(headers)).get_span_context().is_valid


# --- configure_tracing: touches OpenTelemetry's process-wide provider -----------------------


@pytest.fixture
def fresh_global_provider(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Let a test install the global provider, and put back whatever was there before.

    OpenTelemetry allows setting the provider once per process and offers no public reset, so
    this resets its two module globals (what opentelemetry-test-utils does) and ours.
    """
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    saved = (trace._TRACER_PROVIDER, trace._TRACER_PROVIDER_SET_ONCE, tracing._configured)
    trace._TRACER_PROVIDER = None
    trace._TRACER_PROVIDER_SET_ONCE = Once()
    tracing._configured = None
    yield
    installed = trace._TRACER_PROVIDER
    if isinstance(installed, TracerProvider) and installed is not saved[0]:
        installed.shutdown()
    trace._TRACER_PROVIDER, trace._TRACER_PROVIDER_SET_ONCE, tracing._configured = saved


class RecordingExporter(SpanExporter):
    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.spans.extend(spans)
        return SpanExportResult.SUCCESS


@pytest.mark.usefixtures("fresh_global_provider")
def test_configure_without_endpoint_creates_spans_and_exports_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_exporter() -> None:
        raise AssertionError("no exporter may be built without an endpoint")

    monkeypatch.setattr(trace_exporter, "OTLPSpanExporter", no_exporter)

    provider = configure_tracing("provisioner", "1.2.3")

    assert trace.get_tracer_provider() is provider
    assert provider.resource.attributes[SERVICE_NAME] == "provisioner"
    assert provider.resource.attributes[SERVICE_VERSION] == "1.2.3"
    with get_tracer().start_as_current_span("handle"):
        assert current_trace_id() is not None


@pytest.mark.usefixtures("fresh_global_provider")
def test_configure_twice_returns_the_installed_provider(caplog: pytest.LogCaptureFixture) -> None:
    first = configure_tracing("provisioner", "1.0")
    assert configure_tracing("provisioner", "1.0") is first
    assert not caplog.records
    assert configure_tracing("sharing", "1.0") is first
    assert "already configured" in caplog.text


@pytest.mark.usefixtures("fresh_global_provider")
@pytest.mark.parametrize("variable", ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"])
def test_configure_with_endpoint_exports_over_otlp(monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    exporter = RecordingExporter()
    monkeypatch.setattr(trace_exporter, "OTLPSpanExporter", lambda: exporter)
    monkeypatch.setenv(variable, "http://127.0.0.1:4318")

    provider = configure_tracing("quality", "0.1.0")
    with get_tracer().start_as_current_span("check"):
        pass
    assert provider.force_flush()

    assert [span.name for span in exporter.spans] == ["check"]
    assert exporter.spans[0].resource.attributes[SERVICE_NAME] == "quality"
    scope = exporter.spans[0].instrumentation_scope
    assert scope is not None
    assert scope.name == "meshplane"


@pytest.mark.usefixtures("fresh_global_provider")
def test_configure_survives_an_exporter_that_cannot_be_built(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> None:
        raise ValueError("bad OTEL_EXPORTER_OTLP_HEADERS")

    monkeypatch.setattr(trace_exporter, "OTLPSpanExporter", broken)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")

    provider = configure_tracing("cost", "0.1.0")

    assert isinstance(provider, TracerProvider)
    assert "cannot export spans" in caplog.text
    with get_tracer().start_as_current_span("still works"):
        assert current_trace_id() is not None
