"""Starting a service of the local stack and waiting until it answers; the code all callers share.

``devstack up`` (detached, remembered in ``.stack/``), the pytest fixtures and the benchmarks
(started and stopped around a session, via :func:`running`) all go through :func:`start_all`, so
there is one way a broker or snowlocal is launched, checked and stopped.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from meshplane.devstack.errors import DevstackError
from meshplane.devstack.net import http_answers, kafka_answers, port_in_use
from meshplane.devstack.process import ProcessRecord, record_for, spawn, terminate

Probe = Literal["kafka", "http"]


@dataclass(frozen=True)
class ServiceSpec:
    """How to run one service: its command, where it listens, how to tell it is up, where it logs."""

    name: str
    argv: tuple[str, ...]
    host: str
    port: int
    probe: Probe
    log_path: Path
    """Where the service writes its log; shown to the user."""
    console_path: Path
    """Where the process's stdout and stderr go (the same file as ``log_path`` unless it logs itself)."""
    extra_ports: tuple[int, ...] = ()
    """Other ports it listens on, checked free before starting (Kafka's controller listener)."""
    env: Mapping[str, str] | None = None
    prepare: Callable[[], None] | None = None
    """Work before the first start (fetch jars, write config, format storage); may take a while."""
    startup_timeout: float = 120.0

    @property
    def ports(self) -> tuple[int, ...]:
        return (self.port, *self.extra_ports)


def answering(probe: str, host: str, port: int) -> bool:
    """Whether the service behind ``host:port`` answers its protocol's probe."""
    if probe == "kafka":
        return kafka_answers(host, port)
    return http_answers(host, port)


@dataclass
class Started:
    """A service this process started: the record to find it by, and the handle to reap it."""

    record: ProcessRecord
    popen: subprocess.Popen[bytes]


def _check_can_start(spec: ServiceSpec) -> ServiceSpec:
    """Fail before anything starts when the program is missing or a port is taken."""
    program = shutil.which(spec.argv[0])
    if program is None:
        hint = " (the Kafka broker needs Java 17 or newer)" if spec.argv[0] == "java" else ""
        raise DevstackError(f"cannot start {spec.name}: {spec.argv[0]} not found on PATH{hint}")
    for port in spec.ports:
        if port_in_use(spec.host, port):
            raise DevstackError(f"cannot start {spec.name}: port {port} on {spec.host} is already taken")
    # Record the program's full path so the pid file says exactly what ran.
    return replace(spec, argv=(program, *spec.argv[1:]))


def _tail(path: Path, lines: int = 5) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except FileNotFoundError:
        return ""
    return " | ".join(line.strip() for line in text[-lines:])


def _wait_until_answering(spec: ServiceSpec, started: Started) -> None:
    deadline = time.monotonic() + spec.startup_timeout
    while not answering(spec.probe, spec.host, spec.port):
        code = started.popen.poll()
        if code is not None:
            tail = _tail(spec.console_path) or _tail(spec.log_path)
            detail = f": {tail}" if tail else ""
            raise DevstackError(
                f"{spec.name} exited with code {code} while starting; see {spec.log_path}{detail}"
            )
        if time.monotonic() >= deadline:
            raise DevstackError(
                f"{spec.name} did not answer on {spec.host}:{spec.port} within "
                f"{spec.startup_timeout:.0f}s; see {spec.log_path}"
            )
        time.sleep(0.1)


def stop(started: Started | ProcessRecord, *, grace: float = 30.0) -> bool:
    """Stop a service (SIGTERM, then SIGKILL after ``grace``); False if it was no longer running."""
    record = started.record if isinstance(started, Started) else started
    stopped = terminate(record, grace=grace)
    if isinstance(started, Started):
        # Reap our child so it does not stay around as a zombie.
        started.popen.wait(timeout=10)
    return stopped


def start_all(specs: Sequence[ServiceSpec]) -> list[Started]:
    """Start the services side by side and return once all answer.

    Every program and port is checked before anything starts, so a taken port fails cleanly. If
    one service fails to come up, the ones already started here are stopped again: the caller
    gets either all of them running or an error and nothing left behind.
    """
    checked = [_check_can_start(spec) for spec in specs]
    started: list[Started] = []
    try:
        for spec in checked:
            if spec.prepare is not None:
                spec.prepare()
            popen = spawn(spec.argv, console_path=spec.console_path, env=spec.env)
            try:
                record = record_for(
                    popen,
                    name=spec.name,
                    argv=spec.argv,
                    host=spec.host,
                    port=spec.port,
                    probe=spec.probe,
                    log_path=spec.log_path,
                )
            except DevstackError:
                popen.wait()
                raise
            started.append(Started(record, popen))
        # Started one after the other but awaited together: the JVM and Python warm up in parallel.
        for spec, service in zip(checked, started, strict=True):
            _wait_until_answering(spec, service)
    except BaseException:
        for service in reversed(started):
            stop(service, grace=10.0)
        raise
    return started


@contextmanager
def running(spec: ServiceSpec) -> Iterator[ProcessRecord]:
    """Run one service for the duration of the ``with`` block, then stop it."""
    (service,) = start_all([spec])
    try:
        yield service.record
    finally:
        stop(service)
