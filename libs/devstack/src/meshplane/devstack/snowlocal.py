"""snowlocal, the local Snowflake account, as a service of the launcher.

snowlocal is its own workspace package with its own console script; the dev stack only runs
``snowlocal serve --host H --port P [--data-dir D]`` and waits until HTTP answers on the port.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from meshplane.devstack.endpoints import SnowlocalEndpoint
from meshplane.devstack.errors import DevstackError
from meshplane.devstack.launch import ServiceSpec, running
from meshplane.devstack.net import LOCALHOST, free_port, make_up_ports


def snowlocal_program() -> str:
    """The ``snowlocal`` console script of this environment."""
    # Prefer the script next to our own interpreter: that is the workspace's venv even when the
    # venv's bin folder is not on PATH (pytest started by path, an IDE, cron).
    beside = Path(sys.executable).parent / "snowlocal"
    if beside.is_file():
        return str(beside)
    found = shutil.which("snowlocal")
    if found is None:
        raise DevstackError("snowlocal not found: install the workspace with `make sync`")
    return found


def snowlocal_service(
    *,
    state_dir: Path,
    port: int,
    host: str = LOCALHOST,
    data_dir: Path | None = None,
    name: str = "snowlocal",
    edition: str = "enterprise",
) -> ServiceSpec:
    """snowlocal serving on ``host:port``; in memory unless ``data_dir`` is given. Logs to ``<name>.log``."""
    argv = [snowlocal_program(), "serve", "--host", host, "--port", str(port), "--edition", edition]
    if data_dir is not None:
        argv += ["--data-dir", str(data_dir)]
    log_path = state_dir / f"{name}.log"
    return ServiceSpec(
        name=name,
        argv=tuple(argv),
        host=host,
        port=port,
        probe="http",
        log_path=log_path,
        console_path=log_path,
        prepare=None if data_dir is None else lambda: data_dir.mkdir(parents=True, exist_ok=True),
        startup_timeout=60.0,
    )


@contextmanager
def running_snowlocal(
    *,
    host: str = LOCALHOST,
    port: int | None = None,
    data_dir: Path | None = None,
    work_dir: Path | None = None,
    edition: str = "enterprise",
) -> Iterator[SnowlocalEndpoint]:
    """Run snowlocal for the ``with`` block.

    On a free port unless given, in memory unless ``data_dir`` is given, logging into ``work_dir``
    (a temp folder, removed afterwards, unless given); an Enterprise Edition account unless
    ``edition`` says ``standard``.
    """
    with ExitStack() as stack:
        if work_dir is None:
            work_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="meshplane-snowlocal-")))
        if port is None:
            port = free_port(host, avoid=make_up_ports())
        spec = snowlocal_service(state_dir=work_dir, port=port, host=host, data_dir=data_dir, edition=edition)
        stack.enter_context(running(spec))
        yield SnowlocalEndpoint(host, port)
