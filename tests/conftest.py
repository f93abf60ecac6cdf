"""Configuration shared by the whole test tree.

The local-stack fixtures (``kafka_bootstrap_servers``, ``snowlocal_endpoint``) are not defined
here: they come from the ``meshplane.devstack.pytest_plugin`` plugin, which pytest loads from the
installed workspace through its ``pytest11`` entry point.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from meshplane.common.events import AUDIT_TOPIC, DEADLETTER_TOPIC
from tests.e2e.stack import Run, TopicLog

# Folders whose tests need the real local stack (a Kafka broker and/or snowlocal).
_STACK_FOLDERS = frozenset({"integration", "e2e", "live"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Marked by folder rather than by hand, so `-m "not integration"` reliably skips every test
    # that would start a broker or snowlocal.
    for item in items:
        if _STACK_FOLDERS.intersection(item.path.parts):
            item.add_marker(pytest.mark.integration)


@pytest.fixture
def run() -> Run:
    """Domain names and a topic pattern unique to the test (for tests that run a service)."""
    return Run()


@pytest.fixture
async def audit_log(kafka_bootstrap_servers: str) -> AsyncIterator[TopicLog]:
    """The shared audit topic, read from its start; tests pick the events their inputs caused."""
    async with TopicLog(kafka_bootstrap_servers, AUDIT_TOPIC) as log:
        yield log


@pytest.fixture
async def dead_letter_log(kafka_bootstrap_servers: str) -> AsyncIterator[TopicLog]:
    """The shared dead-letter topic, read from its start."""
    async with TopicLog(kafka_bootstrap_servers, DEADLETTER_TOPIC) as log:
        yield log
