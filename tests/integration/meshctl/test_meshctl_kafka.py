"""meshctl against the real broker: publish then read back, retire, and the audit timeline.

Product events go to a domain made up for this run (``mesh.t<random>.product``), so nothing else
on the broker sees them as a real domain's. Audit events go to the real ``mesh.audit`` with a
product name made up for this run; the timeline is searched for that name.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from typer.testing import CliRunner

from meshplane.common.events import (
    AUDIT_TOPIC,
    AccessDecided,
    AccessRequested,
    AuditEventRejected,
    AuditProductProvisioned,
    Envelope,
    EventData,
    ExecutedStatement,
    InputRef,
    InternalConsumer,
    KafkaRecord,
    ProductCreated,
    ProductRetired,
    ServiceRef,
    decode,
    derived_event_id,
    domain_topic,
    encode,
)
from meshplane.meshctl.cli import app
from meshplane.meshctl.kafka import read_topic
from meshplane.provisioner.service import SERVICE as PROVISIONER
from tests.asyncapi_check import validate

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
PUBLISHED = re.compile(r"^published: topic=(\S+) partition=(\d+) offset=(\d+) ce_id=(\S+)$")

runner = CliRunner()


def run_id() -> str:
    return uuid.uuid4().hex[:8]


async def read_one(bootstrap: str, topic: str, partition: int, offset: int) -> KafkaRecord:
    tp = TopicPartition(topic, partition)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign([tp])
        consumer.seek(tp, offset)
        async with asyncio.timeout(60):
            while True:
                batches = await consumer.getmany(tp, timeout_ms=200)
                for message in batches.get(tp, []):
                    if message.offset == offset:
                        return KafkaRecord(
                            topic=message.topic,
                            key=message.key,
                            value=message.value,
                            headers=tuple(message.headers),
                            partition=message.partition,
                            offset=message.offset,
                        )
    finally:
        await consumer.stop()


def published(output: str) -> tuple[str, int, int, str]:
    match = PUBLISHED.match(output.strip())
    assert match, output
    return match.group(1), int(match.group(2)), int(match.group(3)), match.group(4)


def contract_in_domain(tmp_path: Path, domain: str) -> Path:
    document: dict[str, Any] = yaml.safe_load((EXAMPLES / "sales-orders.odcs.yaml").read_text())
    document["domain"] = domain
    path = tmp_path / f"{domain}-orders.odcs.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def test_publish_writes_a_decodable_event_to_the_domains_topic(
    kafka_bootstrap_servers: str, tmp_path: Path
) -> None:
    domain = f"t{run_id()}"
    result = runner.invoke(
        app,
        [
            "publish",
            str(contract_in_domain(tmp_path, domain)),
            "--bootstrap-servers",
            kafka_bootstrap_servers,
            "--source",
            "/tests/meshctl",
        ],
    )
    assert result.exit_code == 0, result.output
    topic, partition, offset, event_id = published(result.stdout)
    assert topic == domain_topic(domain, "product")

    record = asyncio.run(read_one(kafka_bootstrap_servers, topic, partition, offset))
    envelope = decode(record)
    assert envelope.id == event_id
    assert envelope.type == "mesh.product.created.v1"
    assert envelope.source == "/tests/meshctl"
    assert record.key == f"{domain}.orders".encode()
    assert isinstance(envelope.data, ProductCreated)
    assert envelope.data.mesh.product_id == f"{domain}.orders"
    assert envelope.data.mesh.version == "1.0.0"
    # The record as the broker holds it is what the provisioner's AsyncAPI document says it takes.
    validate(PROVISIONER.asyncapi(), record)


def test_publish_as_updated(kafka_bootstrap_servers: str, tmp_path: Path) -> None:
    path = contract_in_domain(tmp_path, f"t{run_id()}")
    result = runner.invoke(
        app, ["publish", str(path), "--event", "updated", "--bootstrap-servers", kafka_bootstrap_servers]
    )
    assert result.exit_code == 0, result.output
    topic, partition, offset, _ = published(result.stdout)
    record = asyncio.run(read_one(kafka_bootstrap_servers, topic, partition, offset))
    assert decode(record).type == "mesh.product.updated.v1"


def test_the_bootstrap_servers_come_from_the_environment(
    kafka_bootstrap_servers: str, tmp_path: Path
) -> None:
    path = contract_in_domain(tmp_path, f"t{run_id()}")
    result = runner.invoke(
        app, ["publish", str(path)], env={"MESH_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap_servers}
    )
    assert result.exit_code == 0, result.output


def test_retire_publishes_product_retired(kafka_bootstrap_servers: str) -> None:
    domain = f"t{run_id()}"
    result = runner.invoke(
        app,
        [
            "retire",
            domain,
            "orders",
            "--major",
            "1",
            "--reason",
            "replaced by v2",
            "--bootstrap-servers",
            kafka_bootstrap_servers,
        ],
    )
    assert result.exit_code == 0, result.output
    topic, partition, offset, event_id = published(result.stdout)
    assert topic == domain_topic(domain, "product")
    envelope = decode(asyncio.run(read_one(kafka_bootstrap_servers, topic, partition, offset)))
    assert envelope.id == event_id
    assert envelope.data == ProductRetired(domain=domain, product="orders", major=1, reason="replaced by v2")


def test_an_unreachable_broker_is_one_line_and_exit_1() -> None:
    result = runner.invoke(
        app,
        ["publish", str(EXAMPLES / "sales-orders.odcs.yaml"), "--bootstrap-servers", "127.0.0.1:1"],
    )
    assert result.exit_code == 1
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "127.0.0.1:1" in result.stderr
    assert "Traceback" not in result.stderr


# ---------------------------------------------------------------------------------------------
# audit tail

SERVICE = ServiceRef(name="provisioner", version="0.1.0")


def audit_records(product: str) -> list[KafkaRecord]:
    input_id = str(uuid.uuid4())
    source_input = InputRef(
        id=input_id, type="mesh.product.created.v1", topic="mesh.sales.product", partition=0, offset=1
    )
    provisioned = AuditProductProvisioned(
        service=SERVICE,
        input=source_input,
        domain="sales",
        product=product,
        version="1.0.0",
        database="SALES",
        schema_name=f"{product.upper()}_V1",
        reader_role=f"SALES__{product.upper()}_V1_READER",
        domain_created=False,
        round_trips=2,
        statements=tuple(ExecutedStatement(sql=f"STATEMENT {i}", query_id=f"q{i}") for i in range(5)),
    )
    rejected = AuditEventRejected(
        service=SERVICE,
        input=InputRef(
            id="bad-1", topic="mesh.marketing.product", partition=0, offset=2, key=f"sales.{product}"
        ),
        reason_code="spoofed-domain",
        reason="the event speaks for domain 'sales' but arrived on mesh.marketing.product",
        domain="marketing",
    )
    return [
        encode(
            provisioned,
            topic=AUDIT_TOPIC,
            source="/provisioner",
            event_id=derived_event_id(input_id, "provisioned"),
            causation_id=input_id,
            correlation_id=input_id,
        ),
        encode(
            rejected,
            topic=AUDIT_TOPIC,
            source="/provisioner",
            event_id=derived_event_id(f"bad-1-{product}", "rejected"),
        ),
    ]


async def produce_all(bootstrap: str, records: list[KafkaRecord]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
    await producer.start()
    try:
        for record in records:
            await producer.send_and_wait(
                record.topic, record.value, key=record.key, headers=list(record.headers)
            )
    finally:
        await producer.stop()


def test_audit_tail_prints_a_timeline_with_replays_once(kafka_bootstrap_servers: str) -> None:
    product = f"p{run_id()}"
    provisioned, rejected = audit_records(product)
    # The provisioned event twice, as a replay of its input would produce it.
    asyncio.run(produce_all(kafka_bootstrap_servers, [provisioned, rejected, provisioned]))

    result = runner.invoke(app, ["audit", "tail", "--bootstrap-servers", kafka_bootstrap_servers])
    assert result.exit_code == 0, result.output
    mine = [line for line in result.stdout.splitlines() if f"sales.{product}" in line]
    assert len(mine) == 2, result.stdout[-3000:]
    provisioned_line, rejected_line = mine
    provisioned_id = dict(provisioned.headers)["ce_id"].decode()
    assert "product.provisioned" in provisioned_line
    assert f"SALES.{product.upper()}_V1: 5 statements, 2 round trips" in provisioned_line
    assert provisioned_line.endswith(provisioned_id[:8])
    assert "event.rejected" in rejected_line
    assert "spoofed-domain: the event speaks for domain 'sales'" in rejected_line


def test_audit_tail_since_now_shows_nothing_old(kafka_bootstrap_servers: str) -> None:
    product = f"p{run_id()}"
    asyncio.run(produce_all(kafka_bootstrap_servers, audit_records(product)))
    result = runner.invoke(
        app, ["audit", "tail", "--since-now", "--bootstrap-servers", kafka_bootstrap_servers]
    )
    assert result.exit_code == 0, result.output
    assert f"sales.{product}" not in result.stdout


async def test_following_a_topic_waits_for_it_and_yields_new_records(kafka_bootstrap_servers: str) -> None:
    topic = f"meshctl-follow-{run_id()}"
    records = [
        KafkaRecord(topic=topic, key=r.key, value=r.value, headers=r.headers) for r in audit_records("follow")
    ]
    seen: list[Envelope[EventData]] = []

    async def follow() -> None:
        async for batch in read_topic(topic, bootstrap_servers=kafka_bootstrap_servers, follow=True):
            seen.extend(decode(record) for record in batch)
            if len(seen) >= len(records):
                return

    follower = asyncio.create_task(follow())
    await asyncio.sleep(1.0)  # the topic does not exist yet: the follower waits for it
    assert not follower.done()
    await produce_all(kafka_bootstrap_servers, records)
    async with asyncio.timeout(60):
        await follower
    assert [envelope.type for envelope in seen] == [
        "mesh.audit.product.provisioned.v1",
        "mesh.audit.event.rejected.v1",
    ]


@pytest.mark.parametrize("command", [["audit", "tail"], ["retire", "sales", "orders", "--major", "1"]])
def test_kafka_commands_fail_in_one_line_without_a_broker(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--bootstrap-servers", "127.0.0.1:1"])
    assert result.exit_code == 1
    assert len(result.stderr.splitlines()) == 1, result.stderr


def test_publish_takes_several_files_checks_them_all_first_and_starts_a_trace(
    kafka_bootstrap_servers: str, tmp_path: Path
) -> None:
    first, second = contract_in_domain(tmp_path, f"t{run_id()}"), contract_in_domain(tmp_path, f"t{run_id()}")
    broken = tmp_path / "broken.odcs.yaml"
    broken.write_text("apiVersion: v3.1.0\nkind: DataContract\n", encoding="utf-8")

    refused = runner.invoke(
        app, ["publish", str(first), str(broken), "--bootstrap-servers", kafka_bootstrap_servers]
    )
    assert refused.exit_code == 1
    assert str(broken) in refused.stderr
    assert refused.stdout == ""  # nothing was published, not even the valid first file

    result = runner.invoke(
        app, ["publish", str(first), str(second), "--bootstrap-servers", kafka_bootstrap_servers]
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    for line, path in zip(lines, (first, second), strict=True):
        topic, partition, offset, _ = published(line)
        assert topic == domain_topic(path.stem.split("-")[0], "product")
        record = asyncio.run(read_one(kafka_bootstrap_servers, topic, partition, offset))
        traceparent = (record.header("traceparent") or b"").decode()
        assert re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}", traceparent), traceparent


def test_access_request_decide_and_revoke_go_to_the_right_domains_topics(
    kafka_bootstrap_servers: str,
) -> None:
    owner, consumer = f"t{run_id()}", f"t{run_id()}"
    server = ["--bootstrap-servers", kafka_bootstrap_servers]
    asked = runner.invoke(
        app,
        [
            "access",
            "request",
            f"{owner}.orders",
            "--as",
            consumer,
            "--duration",
            "P30D",
            "--purpose",
            "attribution",
            *server,
        ],
    )
    assert asked.exit_code == 0, asked.output
    published_line, request_line = asked.stdout.strip().splitlines()
    request_id = request_line.removeprefix("request_id=")
    topic, partition, offset, _ = published(published_line)
    assert topic == domain_topic(consumer, "access")  # the asking domain's own topic
    request = decode(asyncio.run(read_one(kafka_bootstrap_servers, topic, partition, offset))).data
    assert isinstance(request, AccessRequested)
    assert (request.request_id, request.product_id, request.duration) == (
        request_id,
        f"{owner}.orders",
        timedelta(days=30),
    )
    assert request.consumer == InternalConsumer(domain=consumer)

    decided = runner.invoke(
        app,
        [
            "access",
            "decide",
            f"{owner}.orders",
            request_id,
            "--approve",
            "--reason",
            "ok",
            "--duration",
            "P7D",
            *server,
        ],
    )
    assert decided.exit_code == 0, decided.output
    topic, partition, offset, _ = published(decided.stdout)
    assert topic == domain_topic(owner, "access")  # the owner's topic: its identity
    decision = decode(asyncio.run(read_one(kafka_bootstrap_servers, topic, partition, offset))).data
    assert isinstance(decision, AccessDecided)
    assert (decision.decision, decision.duration) == ("approve", timedelta(days=7))

    revoked = runner.invoke(
        app, ["access", "revoke", f"{owner}.orders", "--as", owner, "--consumer", consumer, *server]
    )
    assert revoked.exit_code == 0, revoked.output
    topic, *_ = published(revoked.stdout)
    assert topic == domain_topic(owner, "access")


def test_access_commands_refuse_bad_input_in_one_line_before_publishing() -> None:
    unreachable = ["--bootstrap-servers", "127.0.0.1:1"]
    for args, expected in (
        (["request", "orders", "--as", "mkt", "--duration", "P1D", "--purpose", "x"], "not a product id"),
        (["request", "sales.orders", "--as", "mkt", "--duration", "30 days", "--purpose", "x"], "ISO 8601"),
        (
            [
                "request",
                "sales.orders",
                "--as",
                "mkt",
                "--duration",
                "P1D",
                "--purpose",
                "x",
                "--account",
                "A; DROP",
            ],
            "not a valid consumer",
        ),
        (["revoke", "sales.orders", "--as", "sales"], "--consumer DOMAIN or --account"),
    ):
        result = runner.invoke(app, ["access", *args, *unreachable])
        assert result.exit_code == 1, (args, result.output)
        assert expected in result.stderr, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1
