"""Test support for end-to-end runs: a provisioner against the real broker and a snowlocal of its own.

Each test gets unique domain names and a topic pattern that only matches them, so tests sharing
the session's broker never take each other's events. The audit topic is shared; a test reads only
the audit events caused by the inputs it published.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import snowflake.connector
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from open_data_contract_standard.model import OpenDataContractStandard

from meshplane.common.events import Envelope, EventData, KafkaRecord, decode
from meshplane.common.events.envelope import encode
from meshplane.common.events.product import ProductCreated
from meshplane.common.events.topics import domain_topic
from meshplane.devstack.endpoints import SnowlocalEndpoint
from meshplane.devstack.kafka import ensure_topics

EXAMPLES = Path(__file__).parents[2] / "examples"


class Run:
    """Names unique to one test: domains ``t<hex>_<name>`` and the pattern that matches only them."""

    def __init__(self) -> None:
        self.prefix = f"t{secrets.token_hex(3)}"

    def domain(self, name: str) -> str:
        return f"{self.prefix}_{name}"

    @property
    def domains(self) -> str:
        """The domains of this test, as a service's ``domains`` setting takes them (a regex)."""
        return f"{self.prefix}_[a-z0-9_]*"

    @property
    def group_id(self) -> str:
        return f"provisioner-{self.prefix}"


def contract(domain: str, product: str, *, pii: bool = True) -> OpenDataContractStandard:
    odcs = OpenDataContractStandard.from_file(str(EXAMPLES / "sales-orders.odcs.yaml"))
    return odcs.model_copy(update={"domain": domain, "dataProduct": product, "id": f"{domain}-{product}"})


def created(domain: str, product: str) -> KafkaRecord:
    event = ProductCreated(contract=contract(domain, product))
    return encode(event, topic=domain_topic(domain, "product"), source="/tests/e2e")


async def publish(bootstrap: str, records: Iterable[KafkaRecord], *, per_second: float | None = None) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for record in records:
            await producer.send_and_wait(
                record.topic, record.value, key=record.key, headers=list(record.headers)
            )
            if per_second:
                await asyncio.sleep(1 / per_second)
    finally:
        await producer.stop()


def input_id(record: KafkaRecord) -> str:
    value = record.header("ce_id")
    assert value is not None
    return value.decode()


class TopicLog:
    """Everything on one topic, read with one long-lived consumer (no group, nothing committed)."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.records: list[KafkaRecord] = []
        self._consumer: AIOKafkaConsumer | None = None
        self._partitions: list[TopicPartition] = []

    async def __aenter__(self) -> TopicLog:
        await ensure_topics(self.bootstrap, self.topic)
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
        await consumer.start()
        self._consumer = consumer
        found: set[int] | None = None
        # A topic just created reaches the client's metadata after a moment, longer on a busy machine.
        deadline = time.monotonic() + 60
        while not found:
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.topic} has no partitions in the cluster's metadata after 60 s")
            await consumer.topics()  # refreshes the client's metadata
            found = consumer.partitions_for_topic(self.topic)
            if not found:
                await asyncio.sleep(0.1)
        self._partitions = [TopicPartition(self.topic, p) for p in sorted(found)]
        consumer.assign(self._partitions)
        await consumer.seek_to_beginning(*self._partitions)
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._consumer is not None:
            await self._consumer.stop()

    async def read(self) -> list[KafkaRecord]:
        """All records so far: what was read before plus everything up to the current end."""
        consumer = self._consumer
        assert consumer is not None
        ends = await consumer.end_offsets(self._partitions)
        while any([await consumer.position(tp) < ends[tp] for tp in self._partitions]):
            batch = await consumer.getmany(timeout_ms=500)
            for messages in batch.values():
                self.records.extend(KafkaRecord.consumed(m) for m in messages)
        return self.records


async def audit_for(log: TopicLog, inputs: set[str]) -> list[Envelope[EventData]]:
    """The audit events caused by the given input ids, duplicates included, in log order."""
    return [
        envelope
        for envelope in (decode(record) for record in await log.read())
        if envelope.causation_id in inputs
    ]


async def wait_for_audit(
    log: TopicLog, inputs: set[str], *, within: float = 120.0
) -> list[Envelope[EventData]]:
    """Wait until every input has at least one audit event; return them all."""
    deadline = time.monotonic() + within
    while True:
        events = await audit_for(log, inputs)
        answered = {e.causation_id for e in events}
        if answered >= inputs:
            return events
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{len(inputs - answered)} of {len(inputs)} inputs got no audit event in {within} s"
            )
        await asyncio.sleep(0.5)


async def kill_once_some_are_answered(
    process: subprocess.Popen[bytes], log: TopicLog, inputs: set[str], service_log: Path, *, some: int = 3
) -> None:
    """SIGKILL ``process`` once ``some`` of ``inputs``, and not all, have an audit event."""
    while True:
        answered = {e.causation_id for e in await audit_for(log, inputs)}
        if len(answered) >= some:
            break
        assert process.poll() is None, f"the service exited early; its log: {service_log}"
        await asyncio.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert len(answered) < len(inputs), "the service finished before it could be killed"


async def dead_letters_for(log: TopicLog, topics: set[str]) -> list[KafkaRecord]:
    return [
        record
        for record in await log.read()
        if (record.header("mesh_original_topic") or b"").decode() in topics
    ]


def admin_connection(endpoint: SnowlocalEndpoint, **extra: Any) -> snowflake.connector.SnowflakeConnection:
    return snowflake.connector.connect(**endpoint.connect_kwargs(**extra))


def sql(connection: snowflake.connector.SnowflakeConnection, text: str) -> list[dict[str, object]]:
    cursor = connection.cursor(snowflake.connector.DictCursor)
    try:
        cursor.execute(text)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def provisioner_environment(
    settings: dict[str, object], *, bootstrap: str, run: Run, http_port: int = 0
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MESH_")}
    env.update({f"MESH_SNOWFLAKE_{name.upper()}": str(value) for name, value in settings.items()})
    env.update(
        {
            "MESH_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "MESH_PROVISIONER_GROUP_ID": run.group_id,
            "MESH_PROVISIONER_DOMAINS": run.domains,
            "MESH_HTTP_PORT": str(http_port),
            "MESH_HTTP_HOST": "127.0.0.1",
        }
    )
    return env
