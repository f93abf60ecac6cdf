"""ServiceMetrics: the mesh's metric names and labels, in a registry per service instance."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from meshplane.common.telemetry import OUTCOME_DONE, OUTCOME_FAILED, OUTCOMES, ServiceMetrics


def exposition(metrics: ServiceMetrics) -> str:
    return generate_latest(metrics.registry).decode()


def test_every_metric_appears_with_its_name_and_labels() -> None:
    metrics = ServiceMetrics("provisioner")
    metrics.events_in.labels(type="mesh.product.created.v1", outcome=OUTCOME_DONE).inc()
    metrics.audit_out.labels(type="audit.provisioned").inc()
    metrics.dead_letters.labels(reason="schema").inc()
    metrics.retries.inc()
    metrics.handler_seconds.labels(type="mesh.product.created.v1").observe(0.02)
    metrics.snowflake_round_trips.inc()
    metrics.snowflake_seconds.observe(0.3)

    text = exposition(metrics)

    for line in (
        'meshplane_events_in_total{outcome="done",service="provisioner",type="mesh.product.created.v1"} 1.0',
        'meshplane_audit_events_out_total{service="provisioner",type="audit.provisioned"} 1.0',
        'meshplane_dead_letters_total{reason="schema",service="provisioner"} 1.0',
        'meshplane_transient_retries_total{service="provisioner"} 1.0',
        'meshplane_handler_seconds_count{service="provisioner",type="mesh.product.created.v1"} 1.0',
        'meshplane_snowflake_round_trips_total{service="provisioner"} 1.0',
        'meshplane_snowflake_request_seconds_count{service="provisioner"} 1.0',
        'meshplane_snowflake_request_seconds_bucket{le="0.5",service="provisioner"} 1.0',
    ):
        assert line in text.splitlines(), line
    assert "# TYPE meshplane_handler_seconds histogram" in text


def test_service_only_series_are_exported_at_zero_from_the_start() -> None:
    text = exposition(ServiceMetrics("cost"))
    assert 'meshplane_transient_retries_total{service="cost"} 0.0' in text
    assert 'meshplane_snowflake_round_trips_total{service="cost"} 0.0' in text
    assert 'meshplane_snowflake_request_seconds_count{service="cost"} 0.0' in text


def test_service_label_may_also_be_given_explicitly() -> None:
    metrics = ServiceMetrics("sharing")
    metrics.events_in.labels(type="t", outcome=OUTCOME_FAILED).inc()
    metrics.events_in.labels(service="sharing", type="t", outcome=OUTCOME_FAILED).inc()
    metrics.events_in.labels("t", OUTCOME_FAILED).inc()
    metrics.events_in.labels("sharing", "t", OUTCOME_FAILED).inc()
    metrics.retries.labels(service="sharing").inc()
    metrics.retries.labels().inc(2)

    assert (
        metrics.registry.get_sample_value(
            "meshplane_events_in_total", {"service": "sharing", "type": "t", "outcome": "failed"}
        )
        == 4
    )
    assert metrics.registry.get_sample_value("meshplane_transient_retries_total", {"service": "sharing"}) == 3


def test_another_service_name_is_refused() -> None:
    metrics = ServiceMetrics("sharing")
    with pytest.raises(ValueError, match="belong to service 'sharing'"):
        metrics.events_in.labels(service="quality", type="t", outcome=OUTCOME_DONE)
    with pytest.raises(ValueError, match="belong to service 'sharing'"):
        metrics.retries.labels(service="quality")


def test_missing_labels_are_refused() -> None:
    with pytest.raises(ValueError, match="Incorrect label"):
        ServiceMetrics("quality").events_in.labels(type="t")


def test_timers_and_exception_counting_work_on_service_only_metrics() -> None:
    metrics = ServiceMetrics("provisioner")
    with metrics.snowflake_seconds.time():
        pass
    with pytest.raises(RuntimeError), metrics.retries.count_exceptions():
        raise RuntimeError("transient")
    with metrics.handler_seconds.labels(type="t").time():
        pass

    sample = metrics.registry.get_sample_value
    assert sample("meshplane_snowflake_request_seconds_count", {"service": "provisioner"}) == 1
    assert sample("meshplane_transient_retries_total", {"service": "provisioner"}) == 1
    assert sample("meshplane_handler_seconds_count", {"service": "provisioner", "type": "t"}) == 1


def test_instances_do_not_share_a_registry() -> None:
    first, second = ServiceMetrics("provisioner"), ServiceMetrics("provisioner")
    first.retries.inc()
    assert first.registry is not second.registry
    assert (
        second.registry.get_sample_value("meshplane_transient_retries_total", {"service": "provisioner"}) == 0
    )


def test_a_given_registry_is_used() -> None:
    registry = CollectorRegistry()
    metrics = ServiceMetrics("quality", registry)
    assert metrics.registry is registry
    assert "meshplane_events_in_total" in generate_latest(registry).decode()


def test_outcomes_and_empty_service_name() -> None:
    assert OUTCOMES == ("done", "failed", "rejected", "handed_back")
    with pytest.raises(ValueError, match="must not be empty"):
        ServiceMetrics("")
