"""The background local stack of ``devstack up / down / status``, remembered in a state folder.

For each service ``up`` starts, the state folder (``.stack/`` for ``make up``) holds
``<name>.pid`` (the pid, for people and scripts) and ``<name>.process.json`` (the full record:
pid, start time, command, address, how to probe it). ``down`` and ``status`` work only from these
files, so they act on exactly what ``up`` started and nothing else; a pid that now belongs to
another process is never signalled (see :mod:`meshplane.devstack.process`).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from meshplane.devstack.kafka import kafka_service
from meshplane.devstack.launch import ServiceSpec, answering, start_all, stop
from meshplane.devstack.net import LOCALHOST
from meshplane.devstack.opa import opa_service
from meshplane.devstack.process import ProcessRecord, is_ours
from meshplane.devstack.snowlocal import snowlocal_service


def stack_services(
    state_dir: Path,
    *,
    kafka_port: int,
    kafka_controller_port: int,
    snowlocal_port: int,
    opa_port: int | None = None,
    host: str = LOCALHOST,
) -> list[ServiceSpec]:
    """What ``devstack up`` runs: the Kafka broker and snowlocal, their data kept in ``state_dir``,
    and Open Policy Agent serving ``deploy/policies`` when ``opa_port`` is given."""
    services = [
        kafka_service(state_dir=state_dir, port=kafka_port, controller_port=kafka_controller_port, host=host),
        snowlocal_service(
            state_dir=state_dir, port=snowlocal_port, host=host, data_dir=state_dir / "snowlocal-data"
        ),
    ]
    if opa_port is not None:
        services.append(opa_service(state_dir=state_dir, port=opa_port, host=host))
    return services


_RECORD_SUFFIX = ".process.json"


def _pid_file(state_dir: Path, name: str) -> Path:
    return state_dir / f"{name}.pid"


def _record_file(state_dir: Path, name: str) -> Path:
    return state_dir / f"{name}{_RECORD_SUFFIX}"


def remember(state_dir: Path, record: ProcessRecord) -> None:
    """Write the pid file and record of a started process into the state folder."""
    # The record first: a pid file without its record could not be acted on safely.
    _record_file(state_dir, record.name).write_text(record.to_json() + "\n")
    _pid_file(state_dir, record.name).write_text(f"{record.pid}\n")


def _forget(state_dir: Path, name: str) -> None:
    _record_file(state_dir, name).unlink(missing_ok=True)
    _pid_file(state_dir, name).unlink(missing_ok=True)


def _names(state_dir: Path) -> list[str]:
    """Names of the services the state folder has pid files or records for."""
    if not state_dir.is_dir():
        return []
    pids = {path.name.removesuffix(".pid") for path in state_dir.glob("*.pid")}
    records = {path.name.removesuffix(_RECORD_SUFFIX) for path in state_dir.glob(f"*{_RECORD_SUFFIX}")}
    return sorted(pids | records)


def _load(state_dir: Path, name: str) -> ProcessRecord | None:
    """The record of ``name``, or None when missing or unreadable (then nothing may be signalled)."""
    with contextlib.suppress(FileNotFoundError, json.JSONDecodeError, KeyError, TypeError, ValueError):
        return ProcessRecord.from_json(_record_file(state_dir, name).read_text())
    return None


@dataclass(frozen=True)
class UpResult:
    already_running: list[ProcessRecord]
    started: list[ProcessRecord]


def up(state_dir: Path, services: Sequence[ServiceSpec]) -> UpResult:
    """Start those of ``services`` that are not already running, in the background, and remember them."""
    state_dir.mkdir(parents=True, exist_ok=True)
    already: list[ProcessRecord] = []
    missing: list[ServiceSpec] = []
    for spec in services:
        record = _load(state_dir, spec.name)
        if record is not None and is_ours(record):
            already.append(record)
            continue
        # Whatever pid file is left belongs to a process that is gone.
        _forget(state_dir, spec.name)
        missing.append(spec)
    started = start_all(missing) if missing else []
    for service in started:
        remember(state_dir, service.record)
    return UpResult(already_running=already, started=[service.record for service in started])


@dataclass(frozen=True)
class DownOutcome:
    name: str
    record: ProcessRecord | None
    stopped: bool
    """True if the process was running and has been stopped; False if there was nothing to stop."""


def down(state_dir: Path, *, grace: float = 30.0) -> list[DownOutcome]:
    """Stop every process the state folder remembers and remove its pid files."""
    outcomes = []
    for name in _names(state_dir):
        record = _load(state_dir, name)
        stopped = record is not None and stop(record, grace=grace)
        _forget(state_dir, name)
        outcomes.append(DownOutcome(name=name, record=record, stopped=stopped))
    return outcomes


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    record: ProcessRecord | None
    running: bool
    answering: bool


def status(state_dir: Path) -> list[ServiceStatus]:
    """What the state folder remembers, whether each process still runs, and whether it answers."""
    statuses = []
    for name in _names(state_dir):
        record = _load(state_dir, name)
        alive = record is not None and is_ours(record)
        answers = alive and record is not None and answering(record.probe, record.host, record.port)
        statuses.append(ServiceStatus(name=name, record=record, running=alive, answering=answers))
    return statuses
