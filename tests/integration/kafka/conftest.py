"""Fixtures for the Kafka integration tests: unique names, an admin client, topics ready to use.

Every test creates its own topics and groups with unique names, so tests never see each other's
messages, whether they share the session's broker or a long-running one named by
KAFKA_BOOTSTRAP_SERVERS.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from .kafka_support import wait_until


@pytest.fixture
def unique(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """Names unique to this test run: ``unique("topic")`` -> ``topic-<test>-<random>``."""
    test = re.sub(r"[^a-zA-Z0-9]+", "-", request.node.name).strip("-")[:40]

    def make(kind: str) -> str:
        return f"{kind}-{test}-{uuid.uuid4().hex[:8]}"

    return make


@pytest.fixture
async def kafka_admin(kafka_bootstrap_servers: str) -> AsyncIterator[AIOKafkaAdminClient]:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap_servers)
    await admin.start()
    try:
        yield admin
    finally:
        await admin.close()


@pytest.fixture
def create_topic(
    kafka_admin: AIOKafkaAdminClient, unique: Callable[[str], str]
) -> Callable[[int], Awaitable[str]]:
    """Create a uniquely named topic and return its name once every partition has a leader."""

    async def create(partitions: int) -> str:
        name = unique("topic")
        await kafka_admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])

        async def has_leaders() -> bool:
            described = await kafka_admin.describe_topics([name])
            found = [p for topic in described if topic["topic"] == name for p in topic["partitions"]]
            return len(found) == partitions and all(p["leader"] >= 0 for p in found)

        await wait_until(has_leaders, f"the {partitions} partitions of {name} to get a leader")
        return name

    return create
