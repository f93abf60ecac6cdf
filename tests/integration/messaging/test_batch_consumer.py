"""The batch consumer against the real broker: what is committed, what is read again, in what order.

The subject here is Kafka: offsets committed after a batch, a partition rewound to a record that
is still failing, headers FastStream cannot read as text. Snowflake is the in-memory recording
gateway, because the test must fail exactly one event's plan, on cue; the same retry path
against snowlocal (snowlocal stopped mid-stream) is covered end to end in ``tests/e2e``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from meshplane.common.events import domain_topic
from meshplane.common.kit import ServiceApp
from meshplane.common.settings import RetrySettings
from meshplane.common.snowflake.errors import TransientSnowflakeError
from meshplane.common.snowflake.results import PlanResult
from meshplane.common.snowflake.statements import Plan
from meshplane.devstack.kafka import ensure_topics
from meshplane.provisioner.provisioning import Provisioning
from meshplane.provisioner.service import SERVICE
from tests.e2e.stack import (
    Run,
    TopicLog,
    created,
    dead_letters_for,
    input_id,
    publish,
    wait_for_audit,
)
from tests.fakes import RecordingGateway


class StuckGateway(RecordingGateway):
    """Refuses the plans of one event (by the event id in the QUERY_TAG) a set number of times."""

    def __init__(self) -> None:
        super().__init__()
        self.stuck_event: str | None = None
        self.refusals = 0

    async def execute(self, plan: Plan, query_tag: str) -> PlanResult:
        if self.stuck_event is not None and self.stuck_event in query_tag and self.refusals > 0:
            self.refusals -= 1
            raise TransientSnowflakeError("warehouse unavailable", errno=None)
        return await super().execute(plan, query_tag)


@pytest.fixture
def gateway() -> StuckGateway:
    return StuckGateway()


@pytest.fixture
async def service(
    kafka_bootstrap_servers: str, run: Run, gateway: StuckGateway
) -> AsyncIterator[ServiceApp[Provisioning]]:
    config = SERVICE.test_config(
        bootstrap_servers=kafka_bootstrap_servers,
        group_id=run.group_id,
        domains=run.domains,
        # Every wait between attempts is at least 0.05 s, so at most 4 attempts fit in one budget.
        retry=RetrySettings(initial_seconds=0.05, max_seconds=0.05, budget_seconds=0.2),
    )
    app = SERVICE.create_app(config, gateway)
    await app.start()
    try:
        yield app
    finally:
        await app.stop()


async def committed_offset(bootstrap: str, group_id: str, topic: str) -> int | None:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group_id, enable_auto_commit=False)
    await consumer.start()
    try:
        offset: int | None = await consumer.committed(TopicPartition(topic, 0))
        return offset
    finally:
        await consumer.stop()


async def test_a_record_still_failing_after_its_retry_budget_is_read_again_in_order_and_only_it(
    kafka_bootstrap_servers: str,
    run: Run,
    gateway: StuckGateway,
    service: ServiceApp[Provisioning],
    audit_log: TopicLog,
) -> None:
    domain = run.domain("sales")
    records = [created(domain, f"p{i}") for i in range(4)]
    await ensure_topics(kafka_bootstrap_servers, domain_topic(domain, "product"))
    # Six refusals outlast the first budget (at most 4 attempts), so the record is handed back to
    # Kafka at least once before its plan goes through.
    gateway.stuck_event, gateway.refusals = input_id(records[1]), 6
    await publish(kafka_bootstrap_servers, records)

    events = await wait_for_audit(audit_log, {input_id(r) for r in records}, within=60)

    assert [e.causation_id for e in events] == [input_id(r) for r in records]  # once each, in order
    assert {e.type for e in events} == {"mesh.audit.product.provisioned.v1"}
    assert gateway.refusals == 0
    handed_back = service.metrics.registry.get_sample_value(
        "meshplane_events_in_total",
        {"service": "provisioner", "type": "mesh.product.created.v1", "outcome": "handed_back"},
    )
    assert (handed_back or 0) >= 1
    await service.stop()  # the last commit is made before the consumer leaves
    assert await committed_offset(
        kafka_bootstrap_servers, run.group_id, domain_topic(domain, "product")
    ) == len(records)


async def test_binary_header_values_neither_block_the_partition_nor_lose_their_bytes(
    kafka_bootstrap_servers: str,
    run: Run,
    service: ServiceApp[Provisioning],
    audit_log: TopicLog,
    dead_letter_log: TopicLog,
) -> None:
    domain = run.domain("sales")
    first = created(domain, "first")
    # A valid event with a binary tracing header, which FastStream's own parser cannot read as text.
    plain = created(domain, "binary")
    binary = dataclasses.replace(plain, headers=(*plain.headers, ("x-b3", b"\xff\xfe\x00")))
    # An event whose type is not text: the mesh cannot take it, and dead-letters the bytes as they were.
    readable = created(domain, "garbled")
    garbled = dataclasses.replace(
        readable, headers=tuple((n, b"\xffmesh\xfe" if n == "ce_type" else v) for n, v in readable.headers)
    )
    last = created(domain, "last")
    await ensure_topics(kafka_bootstrap_servers, domain_topic(domain, "product"))
    await publish(kafka_bootstrap_servers, [first, binary, garbled, last])

    events = await wait_for_audit(audit_log, {input_id(r) for r in (first, binary, garbled, last)}, within=60)

    outcomes = {e.causation_id: e.type for e in events}
    assert outcomes[input_id(binary)] == "mesh.audit.product.provisioned.v1"
    assert outcomes[input_id(last)] == "mesh.audit.product.provisioned.v1"
    assert outcomes[input_id(garbled)] == "mesh.audit.event.rejected.v1"
    (dead,) = await dead_letters_for(dead_letter_log, {garbled.topic})
    assert dead.value == garbled.value
    for header in garbled.headers:
        assert header in dead.headers
