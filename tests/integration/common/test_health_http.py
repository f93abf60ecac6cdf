"""HealthServer over real HTTP: probes and the Prometheus scrape, from a client in a thread.

Needs no broker and no snowlocal: the server binds 127.0.0.1 on a free port.
"""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from typing import Any

import pytest

from meshplane.common.telemetry import HealthServer, ServiceMetrics

CHECK_TIMEOUT = 0.3


class Dependency:
    """A readiness check whose behaviour the test changes between requests."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.cancelled = 0

    async def __call__(self) -> bool:
        if self.mode == "hang":
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                self.cancelled += 1
                raise
        if self.mode == "raise":
            raise ConnectionError("broker at 10.0.0.7:9092 unreachable")
        return self.mode == "ok"


#: The server under test, its two readiness checks (kafka, snowflake) and the metrics it serves.
Served = tuple[HealthServer, Dependency, Dependency, ServiceMetrics]


def get(port: int, path: str) -> tuple[int, str, bytes]:
    """GET with the standard library: status, content type and body, 4xx/5xx included."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.headers["content-type"], response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers["content-type"], error.read()


async def aget(port: int, path: str) -> tuple[int, str, bytes]:
    return await asyncio.to_thread(get, port, path)


async def readyz(port: int) -> tuple[int, dict[str, Any]]:
    status, content_type, body = await aget(port, "/readyz")
    assert content_type == "application/json"
    return status, json.loads(body)


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    kafka, snowflake = Dependency(), Dependency()
    metrics = ServiceMetrics("provisioner")
    server = HealthServer(
        host="127.0.0.1",
        port=0,
        registry=metrics.registry,
        checks={"kafka": kafka, "snowflake": snowflake},
        check_timeout_seconds=CHECK_TIMEOUT,
    )
    sigterm_before = signal.getsignal(signal.SIGTERM)
    await server.start()
    # The service owns its signals: starting the server must not take them.
    assert signal.getsignal(signal.SIGTERM) is sigterm_before
    yield server, kafka, snowflake, metrics
    await server.stop()


async def test_healthz_answers_200_even_when_not_ready(served: Served) -> None:
    server, kafka, _, _ = served
    kafka.mode = "hang"
    status, _, body = await aget(server.port, "/healthz")
    assert status == 200
    assert json.loads(body) == {"status": "alive"}


async def test_readyz_200_when_every_check_passes(served: Served) -> None:
    server, *_ = served
    assert await readyz(server.port) == (
        200,
        {"ready": True, "checks": {"kafka": {"ready": True}, "snowflake": {"ready": True}}},
    )


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("not-ready", "not ready"),
        ("raise", "raised ConnectionError"),
        ("hang", f"timed out after {CHECK_TIMEOUT:g} s"),
    ],
)
async def test_readyz_503_names_the_failing_check(served: Served, mode: str, reason: str) -> None:
    server, _, snowflake, _ = served
    snowflake.mode = mode

    status, body = await readyz(server.port)

    assert status == 503
    assert body == {
        "ready": False,
        "checks": {"kafka": {"ready": True}, "snowflake": {"ready": False, "reason": reason}},
    }
    # The exception's message (hosts, accounts) stays in the log, out of the response.
    assert "10.0.0.7" not in json.dumps(body)
    # A hanging check is cancelled at its timeout, not left running behind the answer.
    assert snowflake.cancelled == (1 if mode == "hang" else 0)

    snowflake.mode = "ok"
    assert (await readyz(server.port))[0] == 200


async def test_metrics_serves_the_service_registry(
    served: Served,
) -> None:
    server, _, _, metrics = served
    metrics.events_in.labels(type="mesh.product.created.v1", outcome="done").inc(3)
    metrics.retries.inc()

    status, content_type, body = await aget(server.port, "/metrics")

    assert status == 200
    assert content_type.startswith("text/plain")
    text = body.decode()
    assert (
        'meshplane_events_in_total{outcome="done",service="provisioner",type="mesh.product.created.v1"} 3.0'
        in text
    )
    assert 'meshplane_transient_retries_total{service="provisioner"} 1.0' in text
    assert "meshplane_snowflake_request_seconds_bucket" in text


async def test_unknown_path_is_404(served: Served) -> None:
    server, *_ = served
    assert (await aget(server.port, "/nope"))[0] == 404


async def test_stop_closes_the_port_and_is_idempotent() -> None:
    server = HealthServer(host="127.0.0.1", port=0, registry=ServiceMetrics("cost").registry, checks={})
    await server.start()
    port = server.port
    assert (await readyz(port))[0] == 200  # no checks: ready

    await server.stop()
    await server.stop()

    with pytest.raises(RuntimeError, match="not started"):
        _ = server.port
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass


async def test_a_port_in_use_fails_start() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = HealthServer(
            host="127.0.0.1", port=taken.getsockname()[1], registry=ServiceMetrics("cost").registry, checks={}
        )
        with pytest.raises(OSError, match="in use"):
            await server.start()
    await server.stop()  # nothing started, nothing to stop
