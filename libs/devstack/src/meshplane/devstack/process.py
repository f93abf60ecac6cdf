"""Background processes of the local stack: spawn detached, recognise later, stop for sure.

A process started by ``devstack up`` outlives the command, so ``devstack down`` only has a pid
file to go by. A pid alone is not proof: after a reboot or enough churn the number can belong to
someone else's process. So each process is remembered by its pid *and* its start time
(``/proc/<pid>/stat`` field 22, fixed for the life of a process), and its command line is checked
too. Only a process matching all three is ever signalled. This is Linux-specific by design
(``/proc``); the dev stack targets Linux and WSL.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from meshplane.devstack.errors import DevstackError


@dataclass(frozen=True)
class ProcessRecord:
    """What we know about a process we started: enough to find it, probe it and stop it."""

    name: str
    pid: int
    start_ticks: int
    argv: tuple[str, ...]
    host: str
    port: int
    probe: str
    log_path: str

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> ProcessRecord:
        data: dict[str, Any] = json.loads(text)
        return cls(
            name=str(data["name"]),
            pid=int(data["pid"]),
            start_ticks=int(data["start_ticks"]),
            argv=tuple(str(arg) for arg in data["argv"]),
            host=str(data["host"]),
            port=int(data["port"]),
            probe=str(data["probe"]),
            log_path=str(data["log_path"]),
        )


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of ``/proc/<pid>/stat`` from field 3 (state) on, or None if there is no such process."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # Field 2 is the command name in parentheses and may itself contain spaces or parentheses,
    # so split after its closing parenthesis.
    return raw[raw.rindex(")") + 2 :].split()


def start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks since boot, or None if it does not exist."""
    fields = _stat_fields(pid)
    # Field 22 overall; this list starts at field 3.
    return int(fields[19]) if fields is not None else None


def _is_running(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie (a zombie has exited; only its entry remains)."""
    fields = _stat_fields(pid)
    return fields is not None and fields[0] not in ("Z", "X")


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def is_ours(record: ProcessRecord) -> bool:
    """Whether the running process with the record's pid is the very process the record describes."""
    if not _is_running(record.pid) or start_ticks(record.pid) != record.start_ticks:
        return False
    # A console script (``snowlocal``) shows up as ``python <script> <args>``: the interpreter
    # replaces argv[0], so compare the arguments after the program name.
    expected = list(record.argv[1:])
    actual = _cmdline(record.pid)
    return not expected or actual[-len(expected) :] == expected


def spawn(
    argv: Sequence[str],
    *,
    console_path: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``argv`` detached: its own session, no terminal, stdout and stderr to ``console_path``.

    A new session means Ctrl-C in the terminal that ran ``devstack up`` and the end of that
    command leave the process alone, and the process group it leads can be signalled as a whole.
    """
    console_path.parent.mkdir(parents=True, exist_ok=True)
    with console_path.open("ab") as console:
        return subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=console,
            stderr=subprocess.STDOUT,
            env=None if env is None else {**os.environ, **env},
            cwd=cwd,
            start_new_session=True,
        )


def record_for(
    popen: subprocess.Popen[bytes],
    *,
    name: str,
    argv: Sequence[str],
    host: str,
    port: int,
    probe: str,
    log_path: Path,
) -> ProcessRecord:
    """The record of a process just spawned (its start time is read now, while it surely exists)."""
    ticks = start_ticks(popen.pid)
    if ticks is None:
        raise DevstackError(f"{name} exited immediately after starting; see {log_path}")
    return ProcessRecord(
        name=name,
        pid=popen.pid,
        start_ticks=ticks,
        argv=tuple(argv),
        host=host,
        port=port,
        probe=probe,
        log_path=str(log_path),
    )


def _group_members(pgid: int) -> list[int]:
    """Live processes in process group ``pgid`` (children the service may have started)."""
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            # fields[2] is field 5, the process group id.
            if fields is not None and fields[0] not in ("Z", "X") and int(fields[2]) == pgid:
                members.append(int(entry.name))
    return members


def _reap(pid: int) -> bool:
    """Collect ``pid``'s exit status if it is our child; False while it is our child and not reapable yet.

    A JVM's main thread can show as a zombie while its other threads are still exiting; the
    kernel only lets the parent reap it after the last one, hence the caller polls.
    """
    try:
        reaped, _status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True  # not our child (or already reaped): nothing of it is ours to collect
    return reaped != 0


def _signal(record: ProcessRecord, sig: signal.Signals, *, group: bool) -> None:
    with contextlib.suppress(ProcessLookupError):
        if group:
            os.killpg(record.pid, sig)
        else:
            os.kill(record.pid, sig)


def _wait_gone(record: ProcessRecord, *, group: bool, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        alive = _group_members(record.pid) if group else ([record.pid] if _is_running(record.pid) else [])
        # Gone once it has exited and, if it is our child, has been reaped (no zombie left).
        if not alive and _reap(record.pid):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


def terminate(record: ProcessRecord, *, grace: float = 30.0) -> bool:
    """Stop the recorded process (and what it started): SIGTERM, wait up to ``grace``, then SIGKILL.

    Returns False, signalling nothing, when the pid no longer belongs to the recorded process.
    """
    if not is_ours(record):
        if start_ticks(record.pid) == record.start_ticks:
            _reap(record.pid)  # the recorded process, exited on its own: collect its zombie
        return False
    fields = _stat_fields(record.pid)
    # spawn() makes the process a session and group leader; if it is (still) one, stop the
    # whole group so helpers it started do not linger.
    group = fields is not None and int(fields[2]) == record.pid
    _signal(record, signal.SIGTERM, group=group)
    if not _wait_gone(record, group=group, timeout=grace):
        _signal(record, signal.SIGKILL, group=group)
        if not _wait_gone(record, group=group, timeout=10.0):
            raise DevstackError(f"{record.name} (pid {record.pid}) did not exit after SIGKILL")
    return True
