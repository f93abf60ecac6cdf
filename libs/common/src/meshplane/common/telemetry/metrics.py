"""The Prometheus metrics every service keeps, in a registry of its own.

Each :class:`ServiceMetrics` has its own ``CollectorRegistry`` (not prometheus-client's global one),
so tests and benchmarks can build many service instances in one process without "duplicated
timeseries" errors, and ``/metrics`` shows exactly one service's series.

Metric names (every series also carries ``service``, the service's name):

* ``meshplane_events_in_total{type, outcome}`` — events taken from Kafka, by CloudEvents type;
  outcome ``done`` (handled), ``failed`` (permanent error, audited), ``rejected`` (dead-lettered)
  or ``handed_back`` (still failing when the retry budget was spent: left uncommitted, read again);
* ``meshplane_audit_events_out_total{type}`` — audit events published, by type;
* ``meshplane_dead_letters_total{reason}`` — records sent to ``mesh.deadletter``, by reason;
* ``meshplane_transient_retries_total`` — retries after a temporary or unexpected error;
* ``meshplane_handler_seconds{type}`` — histogram: time in a handler per event, by type;
* ``meshplane_snowflake_round_trips_total`` — requests sent to Snowflake that ran SQL;
* ``meshplane_snowflake_http_requests_total`` — every HTTP request sent to Snowflake for SQL: those
  that ran it and those that fetched a statement's result (logins aside);
* ``meshplane_snowflake_request_seconds`` — histogram: time per plan or read sent to Snowflake.

The ``service`` label is bound when the metrics are made: callers give only the other labels
(``metrics.events_in.labels(type=t, outcome=OUTCOME_DONE).inc()``, ``metrics.retries.inc()``,
``metrics.snowflake_seconds.time()``). Naming ``service`` as well is accepted when it is the same
name, so code written against the plain prometheus-client form also works.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.context_managers import ExceptionCounter

__all__ = [
    "OUTCOMES",
    "OUTCOME_DONE",
    "OUTCOME_FAILED",
    "OUTCOME_HANDED_BACK",
    "OUTCOME_REJECTED",
    "ServiceMetrics",
]

OUTCOME_DONE: Final = "done"
OUTCOME_FAILED: Final = "failed"
OUTCOME_REJECTED: Final = "rejected"
OUTCOME_HANDED_BACK: Final = "handed_back"
OUTCOMES: Final = (OUTCOME_DONE, OUTCOME_FAILED, OUTCOME_REJECTED, OUTCOME_HANDED_BACK)

_SERVICE = "service"

# A handler is one Snowflake round trip plus Kafka work: tens of milliseconds when warm, seconds
# when a warehouse resumes, up to the retry budget (120 s by default) when Snowflake misbehaves.
_HANDLER_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
# One request: SHOW and DDL answer in tens to hundreds of milliseconds; a resuming warehouse
# takes seconds.
_SNOWFLAKE_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


def _bind_service(
    bound: str | None,
    labelnames: Sequence[str],
    labelvalues: tuple[object, ...],
    labelkwargs: dict[str, object],
) -> tuple[tuple[object, ...], dict[str, object]]:
    """Add the bound service name to the label values a caller gave, unless they gave it too."""
    if bound is None or not labelnames or labelnames[0] != _SERVICE:
        return labelvalues, labelkwargs
    if labelkwargs:
        given = labelkwargs.get(_SERVICE, bound)
        if str(given) != bound:
            raise ValueError(f"these metrics belong to service {bound!r}, not {given!r}")
        return (), {**labelkwargs, _SERVICE: bound}
    if len(labelvalues) == len(labelnames) - 1:
        return (bound, *labelvalues), {}
    if labelvalues and str(labelvalues[0]) != bound:
        raise ValueError(f"these metrics belong to service {bound!r}, not {labelvalues[0]!r}")
    return labelvalues, labelkwargs


class _ServiceCounter(Counter):
    """A counter whose ``service`` label is filled in from the service it was made for."""

    _mesh_service: str | None = None

    def labels(self, *labelvalues: object, **labelkwargs: object) -> _ServiceCounter:
        values, kwargs = _bind_service(self._mesh_service, self._labelnames, labelvalues, labelkwargs)
        return super().labels(*values, **kwargs)

    def inc(self, amount: float = 1, exemplar: dict[str, str] | None = None) -> None:
        # With ``service`` as the only label, the parent itself can count: forward to its child.
        if self._mesh_service is not None and self._labelnames == (_SERVICE,) and not self._labelvalues:
            self.labels().inc(amount, exemplar)
            return
        super().inc(amount, exemplar)

    def count_exceptions(
        self, exception: type[BaseException] | tuple[type[BaseException], ...] = Exception
    ) -> ExceptionCounter:
        if self._mesh_service is not None and self._labelnames == (_SERVICE,) and not self._labelvalues:
            return self.labels().count_exceptions(exception)
        return super().count_exceptions(exception)


class _ServiceHistogram(Histogram):
    """A histogram whose ``service`` label is filled in from the service it was made for."""

    _mesh_service: str | None = None

    def labels(self, *labelvalues: object, **labelkwargs: object) -> _ServiceHistogram:
        values, kwargs = _bind_service(self._mesh_service, self._labelnames, labelvalues, labelkwargs)
        return super().labels(*values, **kwargs)

    def observe(self, amount: float, exemplar: dict[str, str] | None = None) -> None:
        if self._mesh_service is not None and self._labelnames == (_SERVICE,) and not self._labelvalues:
            self.labels().observe(amount, exemplar)
            return
        super().observe(amount, exemplar)


class ServiceMetrics:
    """One service instance's metrics, registered in ``registry`` (a new one unless given)."""

    def __init__(self, service: str, registry: CollectorRegistry | None = None) -> None:
        if not service:
            raise ValueError("the service name must not be empty")
        self.service = service
        self.registry = CollectorRegistry() if registry is None else registry

        self.events_in: Counter = self._counter(
            "meshplane_events_in",
            "Events taken from Kafka, by type and outcome (done, failed, rejected, handed_back).",
            ("type", "outcome"),
        )
        self.audit_out: Counter = self._counter(
            "meshplane_audit_events_out", "Audit events published, by type.", ("type",)
        )
        self.dead_letters: Counter = self._counter(
            "meshplane_dead_letters", "Records sent to the dead-letter topic, by reason.", ("reason",)
        )
        self.retries: Counter = self._counter(
            "meshplane_transient_retries", "Retries after a transient (Snowflake or Kafka) error.", ()
        )
        self.handler_seconds: Histogram = self._histogram(
            "meshplane_handler_seconds",
            "Seconds spent handling one event, by type.",
            ("type",),
            _HANDLER_BUCKETS,
        )
        self.snowflake_round_trips: Counter = self._counter(
            "meshplane_snowflake_round_trips", "Requests sent to Snowflake that ran SQL.", ()
        )
        self.snowflake_http_requests: Counter = self._counter(
            "meshplane_snowflake_http_requests",
            "HTTP requests sent to Snowflake for SQL: running it and fetching statement results.",
            (),
        )
        self.snowflake_seconds: Histogram = self._histogram(
            "meshplane_snowflake_request_seconds", "Seconds per Snowflake request.", (), _SNOWFLAKE_BUCKETS
        )

    def _counter(self, name: str, documentation: str, labels: tuple[str, ...]) -> Counter:
        counter = _ServiceCounter(name, documentation, (_SERVICE, *labels), registry=self.registry)
        counter._mesh_service = self.service
        if not labels:
            # Export the series at 0 from the start, so rate() and absence alerts see it.
            counter.labels()
        return counter

    def _histogram(
        self, name: str, documentation: str, labels: tuple[str, ...], buckets: Sequence[float]
    ) -> Histogram:
        histogram = _ServiceHistogram(
            name, documentation, (_SERVICE, *labels), registry=self.registry, buckets=buckets
        )
        histogram._mesh_service = self.service
        if not labels:
            histogram.labels()
        return histogram
