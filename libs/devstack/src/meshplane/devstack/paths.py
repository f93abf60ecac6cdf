"""Where the dev stack finds the repository and keeps its state and caches.

The Kafka pom and log4j2 config live in the repository (``deploy/kafka``), the fetched jars in its
ignored ``.cache/`` and ``make up``'s pids and logs in its ignored ``.stack/``. The package is
installed editable by the uv workspace, so the repository is found from the working directory or,
failing that, from this file's location.
"""

from __future__ import annotations

from pathlib import Path

from meshplane.devstack.errors import DevstackError

# A file only this repository has, so a parent folder holding it is the repository root.
_MARKER = Path("deploy") / "kafka" / "pom.xml"


def repo_root() -> Path:
    """The Meshplane repository this command runs in."""
    for start in (Path.cwd().resolve(), Path(__file__).resolve().parent):
        for folder in (start, *start.parents):
            if (folder / _MARKER).is_file():
                return folder
    raise DevstackError(f"cannot find the Meshplane repository: no {_MARKER} above {Path.cwd()}")


def kafka_deploy_dir() -> Path:
    """``deploy/kafka``: the pom that lists the broker's jars, its base config and log4j2 config."""
    return repo_root() / "deploy" / "kafka"


def cache_dir() -> Path:
    """``.cache/``: downloads kept across runs (ignored by git, kept by ``make clean``)."""
    return repo_root() / ".cache"


def default_state_dir() -> Path:
    """``.stack/``: pids, logs and data of what ``devstack up`` started."""
    return repo_root() / ".stack"
