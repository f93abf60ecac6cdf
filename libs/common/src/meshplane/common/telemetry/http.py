"""The small HTTP endpoint every service serves for Kubernetes probes and Prometheus scrapes.

* ``GET /healthz`` — liveness: 200 whenever the process can answer at all. It runs no checks, so
  a slow Snowflake or Kafka never gets a healthy pod restarted.
* ``GET /readyz`` — readiness: runs every readiness check concurrently; 200 only when all of
  them answer ``True``, otherwise 503. A check that raises, or does not answer within
  ``check_timeout_seconds`` (2 s by default), counts as failed. The JSON body names each check
  and its result. Keep the probe's ``timeoutSeconds`` above the check timeout.
* ``GET /metrics`` — the service's own Prometheus registry, in the text format (or OpenMetrics
  when the scraper asks for it), by prometheus-client's ASGI app.

Why uvicorn + Starlette: both are already in the workspace (snowlocal serves the Snowflake
protocol with them), they run as one task on the service's own asyncio loop next to the
FastStream app (no thread, no second loop), and prometheus-client ships an ASGI app for
``/metrics``. aiohttp would add a second HTTP stack for the same three routes.

The server is started on a socket bound here, so a port already in use fails :meth:`start`
with ``OSError`` instead of uvicorn's ``sys.exit``, and port 0 gives a free port that
:attr:`HealthServer.port` reports. uvicorn's signal handling is switched off: the service owns
SIGTERM and stops this server itself; uvicorn's logging set-up is switched off too, so the
service's log configuration stays as the service made it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable, Generator, Mapping
from dataclasses import dataclass
from typing import Any

import uvicorn
from prometheus_client import CollectorRegistry, make_asgi_app
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["DEFAULT_CHECK_TIMEOUT_SECONDS", "HealthServer", "ReadinessCheck"]

logger = logging.getLogger(__name__)

#: A readiness check: answers whether one dependency (the broker, Snowflake…) is usable now.
#: It must not block the event loop; it may raise, which counts as "not ready".
ReadinessCheck = Callable[[], Awaitable[bool]]

DEFAULT_CHECK_TIMEOUT_SECONDS = 2.0
# How long stop() lets open requests finish before uvicorn cancels them.
_GRACEFUL_SHUTDOWN_SECONDS = 2


@dataclass(frozen=True)
class _CheckResult:
    ready: bool
    reason: str | None = None

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ready": self.ready}
        if self.reason is not None:
            body["reason"] = self.reason
        return body


class _AsgiEndpoint:
    """Makes Starlette's ``Route`` treat an ASGI function as an app rather than a request handler.

    ``Route`` calls plain functions with a ``Request``; prometheus-client's app is a plain
    ASGI function. A ``Mount`` would serve it, but only under ``/metrics/`` with a redirect.
    """

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        # uvicorn would take SIGINT/SIGTERM for itself and re-raise them after it stops; the
        # service decides when to stop, and stops this server with the rest of its parts.
        yield


class HealthServer:
    """``/healthz``, ``/readyz`` and ``/metrics`` served in the background of the running loop."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        registry: CollectorRegistry,
        checks: Mapping[str, ReadinessCheck],
        check_timeout_seconds: float = DEFAULT_CHECK_TIMEOUT_SECONDS,
    ) -> None:
        if check_timeout_seconds <= 0:
            raise ValueError("check_timeout_seconds must be positive")
        self._host = host
        self._requested_port = port
        self._checks = dict(checks)
        self._check_timeout = check_timeout_seconds
        self._server: _Server | None = None
        self._task: asyncio.Task[None] | None = None
        self._port: int | None = None
        self._stopping = False
        # Checks that outlived their timeout keep running after being cancelled; hold them so
        # they are not garbage-collected mid-flight and their exceptions are retrieved.
        self._abandoned: set[asyncio.Task[bool]] = set()
        self.app = Starlette(
            routes=[
                Route("/healthz", self._healthz, methods=["GET"]),
                Route("/readyz", self._readyz, methods=["GET"]),
                Route("/metrics", _AsgiEndpoint(make_asgi_app(registry)), methods=["GET"]),
            ]
        )

    @property
    def port(self) -> int:
        """The port the server listens on (the chosen one when it was created with port 0)."""
        if self._port is None:
            raise RuntimeError("the health server is not started")
        return self._port

    async def start(self) -> None:
        """Bind the socket and serve in a background task; returns once requests are answered."""
        if self._task is not None:
            raise RuntimeError("the health server is already started")
        sock = await self._bind()
        config = uvicorn.Config(
            self.app,
            lifespan="off",
            http="h11",
            ws="none",
            log_config=None,
            # Probes every few seconds would drown the service's own log lines.
            access_log=False,
            proxy_headers=False,
            server_header=False,
            timeout_graceful_shutdown=_GRACEFUL_SHUTDOWN_SECONDS,
        )
        server = _Server(config)
        task = asyncio.create_task(server.serve(sockets=[sock]), name="meshplane-health-http")
        try:
            while not server.started:
                if task.done():
                    # serve() returned or raised before listening: surface why.
                    task.result()
                    raise RuntimeError("the health server stopped before it started listening")
                await asyncio.sleep(0.005)
        except BaseException:
            # Also when start() itself is cancelled: leave no server task or socket behind.
            server.should_exit = True
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
            sock.close()
            raise
        self._server, self._task = server, task
        self._port = int(sock.getsockname()[1])
        task.add_done_callback(self._on_server_done)
        logger.info("health and metrics endpoint listening on %s:%d", self._host, self._port)

    async def stop(self) -> None:
        """Stop serving and wait for the server task; safe to call twice or before start."""
        server, task = self._server, self._task
        if server is None or task is None:
            return
        self._stopping = True
        server.should_exit = True
        try:
            await task
        except Exception:
            logger.exception("the health server failed while stopping")
        finally:
            self._server = self._task = None
            self._port = None
            self._stopping = False
            for check in list(self._abandoned):
                check.cancel()

    async def _bind(self) -> socket.socket:
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(
            self._host or None, self._requested_port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
        if not infos:
            raise OSError(f"cannot resolve {self._host!r}")
        family, kind, proto, _, address = infos[0]
        sock = socket.socket(family, kind, proto)
        try:
            # A restarted service binds its fixed port again while old connections sit in TIME_WAIT.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
            sock.setblocking(False)
        except BaseException:
            sock.close()
            raise
        return sock

    def _on_server_done(self, task: asyncio.Task[None]) -> None:
        if self._stopping:
            return
        # Nothing answers /healthz any more, so the liveness probe will restart the pod.
        exc = None if task.cancelled() else task.exception()
        logger.error("the health server stopped unexpectedly", exc_info=exc)

    async def _healthz(self, request: Request) -> JSONResponse:
        return JSONResponse({"status": "alive"})

    async def _readyz(self, request: Request) -> JSONResponse:
        results = await self._run_checks()
        ready = all(result.ready for result in results.values())
        return JSONResponse(
            {"ready": ready, "checks": {name: result.as_json() for name, result in results.items()}},
            status_code=200 if ready else 503,
        )

    async def _run_checks(self) -> dict[str, _CheckResult]:
        tasks = {
            name: asyncio.create_task(_call(check), name=f"readyz:{name}")
            for name, check in self._checks.items()
        }
        pending: set[asyncio.Task[bool]] = set()
        if tasks:
            _, pending = await asyncio.wait(tasks.values(), timeout=self._check_timeout)
        for task in pending:
            # Not awaited: a check that ignores cancellation must not hold up the probe.
            task.cancel()
            self._abandoned.add(task)
            task.add_done_callback(self._forget)
        return {name: self._result(name, task, task in pending) for name, task in tasks.items()}

    def _result(self, name: str, task: asyncio.Task[bool], timed_out: bool) -> _CheckResult:
        if timed_out:
            logger.warning("readiness check %s timed out after %.1f s", name, self._check_timeout)
            return _CheckResult(False, f"timed out after {self._check_timeout:g} s")
        if task.cancelled():
            return _CheckResult(False, "cancelled")
        exc = task.exception()
        if exc is not None:
            # The body names only the exception type: /readyz is reachable from outside the pod,
            # and a driver's message may carry account or host names. The log has the rest.
            logger.warning("readiness check %s failed", name, exc_info=exc)
            return _CheckResult(False, f"raised {type(exc).__name__}")
        if not task.result():
            return _CheckResult(False, "not ready")
        return _CheckResult(True)

    def _forget(self, task: asyncio.Task[bool]) -> None:
        self._abandoned.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved, so asyncio does not log "exception was never retrieved"


async def _call(check: ReadinessCheck) -> bool:
    # Calling inside the task means a check that raises before returning an awaitable is
    # caught like any other failure.
    return bool(await check())
