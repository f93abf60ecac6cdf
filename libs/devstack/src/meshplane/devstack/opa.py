"""Open Policy Agent as a service of the launcher: the policy engine the sharing service asks.

The binary is built by the project itself from the Go module proxy, at the version pinned in
``deploy/opa/VERSION``, into ``.cache/tools/opa-<version>/opa`` — the same place ``make
test-policies`` builds it (as Maven brings Kafka's jars). The dev stack runs it as a local server on
``deploy/policies``: ``opa run --server --addr H:P deploy/policies``.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from meshplane.devstack.errors import DevstackError
from meshplane.devstack.launch import ServiceSpec, running
from meshplane.devstack.net import LOCALHOST, free_port, make_up_ports

__all__ = ["POLICIES", "ensure_opa", "opa_binary", "opa_service", "running_opa"]

_ROOT = Path(__file__).resolve().parents[5]
POLICIES = _ROOT / "deploy" / "policies"
_VERSION_FILE = _ROOT / "deploy" / "opa" / "VERSION"


def opa_binary() -> Path:
    """Where the pinned ``opa`` is built (it may not be yet: :func:`ensure_opa`)."""
    version = _VERSION_FILE.read_text(encoding="utf-8").strip()
    return _ROOT / ".cache" / "tools" / f"opa-{version}" / "opa"


def ensure_opa() -> Path:
    """Build the pinned ``opa`` with ``go install`` unless it is there; a few minutes the first time."""
    binary = opa_binary()
    if binary.is_file():
        return binary
    version = binary.parent.name.removeprefix("opa-")
    env = {**os.environ, "GOBIN": str(binary.parent)}
    try:
        subprocess.run(
            ["go", "install", f"github.com/open-policy-agent/opa@{version}"],
            env=env,
            check=True,
            timeout=1200,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise DevstackError(f"could not build opa {version} with go install: {exc}") from exc
    return binary


def _build() -> None:
    ensure_opa()


def opa_service(
    *, state_dir: Path, port: int, host: str = LOCALHOST, policies: Path = POLICIES
) -> ServiceSpec:
    """OPA serving ``policies`` on ``host:port``; logs to ``opa.log``."""
    log_path = state_dir / "opa.log"
    return ServiceSpec(
        name="opa",
        argv=(
            str(opa_binary()),
            "run",
            "--server",
            "--addr",
            f"{host}:{port}",
            "--log-level",
            "error",
            str(policies),
        ),
        host=host,
        port=port,
        probe="http",
        log_path=log_path,
        console_path=log_path,
        prepare=_build,
        startup_timeout=60.0,
    )


@contextmanager
def running_opa(
    *, host: str = LOCALHOST, port: int | None = None, policies: Path = POLICIES, work_dir: Path | None = None
) -> Iterator[str]:
    """Run OPA for the ``with`` block; yields its URL (``http://host:port``)."""
    with ExitStack() as stack:
        if work_dir is None:
            work_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="meshplane-opa-")))
        if port is None:
            port = free_port(host, avoid=make_up_ports())
        ensure_opa()
        stack.enter_context(running(opa_service(state_dir=work_dir, port=port, host=host, policies=policies)))
        yield f"http://{host}:{port}"
