"""pytest fixtures for the local stack, loaded by every pytest run through the ``pytest11`` entry point.

Both fixtures are session-scoped: a broker or snowlocal starts at most once per test session, the
first time a test asks for it, and is stopped when the session ends. Where they come from:

``kafka_bootstrap_servers``
    ``KAFKA_BOOTSTRAP_SERVERS`` when set (a ``make up`` stack, CI's broker); else testcontainers'
    Kafka when a Docker engine answers; else our own broker from its jars on free ports.
``snowlocal_endpoint``
    ``SNOWLOCAL_URL`` when set; else ``snowlocal serve`` on a free port, in memory.

Free ports are never the ones ``make up`` uses, so a test run leaves a running local stack alone.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from meshplane.devstack.endpoints import SnowlocalEndpoint
from meshplane.devstack.kafka import running_kafka
from meshplane.devstack.snowlocal import running_snowlocal


def docker_answers(timeout: float = 2.0) -> bool:
    """Whether a Docker engine answers a ping within ``timeout`` seconds."""
    try:
        # Imported here: docker comes with testcontainers (a dev dependency) and is slow to import.
        import docker  # type: ignore[import-untyped]
    except ImportError:
        return False
    try:
        client = docker.from_env(timeout=timeout)
        try:
            client.ping()
        finally:
            client.close()
    except Exception:  # any failure (no socket, no permission, timeout) means: no usable engine
        return False
    return True


@pytest.fixture(scope="session")
def kafka_bootstrap_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``host:port`` of a Kafka broker for this test session."""
    from_env = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "").strip()
    if from_env:
        yield from_env
        return
    if docker_answers():
        # Imported only here: it needs Docker, which most runs of this project do not have.
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer().with_kraft() as container:
            yield str(container.get_bootstrap_server())
        return
    with running_kafka(work_dir=tmp_path_factory.mktemp("kafka")) as broker:
        yield broker.bootstrap_servers


@pytest.fixture(scope="session")
def snowlocal_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SnowlocalEndpoint]:
    """Where a snowlocal server for this test session listens (with its login)."""
    from_env = os.environ.get("SNOWLOCAL_URL", "").strip()
    if from_env:
        yield SnowlocalEndpoint.from_url(from_env)
        return
    with running_snowlocal(work_dir=tmp_path_factory.mktemp("snowlocal")) as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def opa_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Where an Open Policy Agent serving ``deploy/policies`` listens for this test session.

    ``OPA_URL`` when set; else the project's pinned ``opa`` (built by ``make test-policies``, or
    here on first use) is started on a free port and stopped after the session.
    """
    from_env = os.environ.get("OPA_URL", "").strip()
    if from_env:
        yield from_env
        return
    from meshplane.devstack.opa import running_opa

    with running_opa(work_dir=tmp_path_factory.mktemp("opa")) as url:
        yield url
