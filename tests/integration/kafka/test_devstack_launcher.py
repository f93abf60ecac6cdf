"""The launcher behind ``devstack up / status / down``, run for real in a temporary state folder.

``stack.up`` here is the same call ``devstack up`` makes, with the real Kafka broker on free ports;
a tiny HTTP server stands in for snowlocal (which has its own tests) as the second process.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from meshplane.devstack import stack
from meshplane.devstack.errors import DevstackError
from meshplane.devstack.kafka import kafka_service
from meshplane.devstack.launch import ServiceSpec
from meshplane.devstack.net import LOCALHOST, free_ports, make_up_ports
from meshplane.devstack.process import ProcessRecord, start_ticks


@pytest.fixture
def state_dir(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "stack"
    yield folder
    # Whatever a failed assertion left running is stopped here, by the code under test.
    stack.down(folder, grace=10.0)


def web_service(state_dir: Path, port: int, root: Path) -> ServiceSpec:
    root.mkdir(parents=True, exist_ok=True)
    argv = (sys.executable, "-m", "http.server", str(port), "--bind", LOCALHOST, "--directory", str(root))
    log = state_dir / "web.log"
    return ServiceSpec(
        name="web", argv=argv, host=LOCALHOST, port=port, probe="http", log_path=log, console_path=log
    )


def proc_exists(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


def test_up_status_down_of_a_broker_and_a_process(state_dir: Path, tmp_path: Path) -> None:
    kafka_port, controller_port, web_port = free_ports(3, avoid=make_up_ports())
    services = [
        kafka_service(state_dir=state_dir, port=kafka_port, controller_port=controller_port),
        web_service(state_dir, web_port, tmp_path / "www"),
    ]

    result = stack.up(state_dir, services)
    assert result.already_running == []
    pids = {record.name: record.pid for record in result.started}
    assert set(pids) == {"kafka", "web"}
    assert (state_dir / "kafka.pid").read_text().strip() == str(pids["kafka"])

    report = {entry.name: entry for entry in stack.status(state_dir)}
    assert set(report) == {"kafka", "web"}
    for name, entry in report.items():
        assert entry.running, name
        assert entry.answering, name
        assert entry.record is not None
        assert entry.record.pid == pids[name]
    assert report["kafka"].record is not None
    assert report["kafka"].record.address == f"{LOCALHOST}:{kafka_port}"

    # A second `up` finds both running and starts nothing.
    again = stack.up(state_dir, services)
    assert again.started == []
    assert {record.pid for record in again.already_running} == set(pids.values())

    outcomes = stack.down(state_dir)
    assert {(outcome.name, outcome.stopped) for outcome in outcomes} == {("kafka", True), ("web", True)}
    assert not any(proc_exists(pid) for pid in pids.values())
    assert list(state_dir.glob("*.pid")) == []
    assert stack.status(state_dir) == []
    assert stack.down(state_dir) == []


def test_up_refuses_a_taken_port_and_starts_nothing(state_dir: Path, tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind((LOCALHOST, 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        (web_port,) = free_ports(1, avoid={taken, *make_up_ports()})
        services = [
            web_service(state_dir, web_port, tmp_path / "www"),
            web_service(state_dir, taken, tmp_path),
        ]
        with pytest.raises(DevstackError, match=f"port {taken} .* already taken"):
            stack.up(state_dir, services)
    assert list(state_dir.glob("*.pid")) == []


def test_missing_java_is_one_clear_error(
    state_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    kafka_port, controller_port = free_ports(2, avoid=make_up_ports())
    with pytest.raises(DevstackError, match="java not found on PATH"):
        stack.up(
            state_dir, [kafka_service(state_dir=state_dir, port=kafka_port, controller_port=controller_port)]
        )


@pytest.mark.parametrize("mismatch", ["start time", "command line"])
def test_down_never_signals_a_pid_that_is_not_the_recorded_process(state_dir: Path, mismatch: str) -> None:
    # A live process standing for whatever now holds a recycled pid.
    bystander = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    try:
        ticks = start_ticks(bystander.pid)
        assert ticks is not None
        record = ProcessRecord(
            name="ghost",
            pid=bystander.pid,
            start_ticks=ticks - 1 if mismatch == "start time" else ticks,
            argv=("python", "-c", "import sys; sys.stdin.read()")
            if mismatch == "start time"
            else ("snowlocal", "serve", "--port", "1"),
            host=LOCALHOST,
            port=1,
            probe="http",
            log_path="ghost.log",
        )
        state_dir.mkdir(parents=True)
        stack.remember(state_dir, record)

        (entry,) = stack.status(state_dir)
        assert not entry.running
        (outcome,) = stack.down(state_dir)
        assert not outcome.stopped
        assert bystander.poll() is None  # still running: it was never signalled
        assert list(state_dir.glob("ghost.*")) == []
    finally:
        bystander.kill()
        bystander.wait()
