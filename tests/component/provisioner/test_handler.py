"""The provisioner's handler through FastStream's in-memory Kafka broker, with a recording gateway.

No broker, no Snowflake: what is checked here is the wiring — decode → plan → execute → emit —
and the contract of the audit and dead-letter output.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Callable, Sequence

import pytest
from aiokafka.errors import KafkaConnectionError

from meshplane.common.events import (
    AUDIT_TOPIC,
    DEADLETTER_TOPIC,
    AuditEventRejected,
    AuditProductProvisioned,
    AuditProductProvisioningFailed,
    Envelope,
    EventData,
    KafkaRecord,
    ProductCreated,
    ProductRetired,
    content_digest,
    decode,
    derived_event_id,
    encode,
)
from meshplane.common.events.audit import ServiceRef
from meshplane.common.messaging import (
    Delivery,
    EventContext,
    EventProcessor,
    Outcome,
    RecordingSink,
    RecordSink,
    Work,
)
from meshplane.common.settings import RetrySettings
from meshplane.common.snowflake.errors import PermanentSnowflakeError, TransientSnowflakeError
from meshplane.common.telemetry import ServiceMetrics
from meshplane.provisioner.handlers import handlers, provisioning_failed
from meshplane.provisioner.plan import BreakingChange
from meshplane.provisioner.provisioning import Provisioning
from tests.component.provisioner.support import ProvisionerApp, contract, created, deliver
from tests.fakes import RecordingGateway, StaticCatalog


async def test_a_new_domain_is_observed_then_provisioned_and_audited(
    service: ProvisionerApp, gateway: RecordingGateway, sink: RecordingSink
) -> None:
    record = created(contract())
    await deliver(service, record)

    observation, edition, provisioning = gateway.plans
    assert edition[0].statements[0].sql.startswith("SHOW MASKING POLICIES")  # Enterprise, once
    assert all(s.sql.startswith("SHOW") for s in observation[0])
    assert any("CREATE DATABASE" in s for s in (st.compile() for st in provisioning[0]))
    (audit,) = sink.on(AUDIT_TOPIC)
    envelope = decode(audit)
    assert isinstance(envelope.data, AuditProductProvisioned)
    input_id = record.header("ce_id").decode()  # type: ignore[union-attr]
    assert envelope.id == derived_event_id(input_id, "provisioner/provisioned", content_digest(record))
    assert envelope.data.input.digest == content_digest(record)
    assert envelope.causation_id == input_id
    assert envelope.correlation_id == input_id
    assert audit.key == b"sales.orders"
    assert envelope.data.domain_created is True
    # Three SHOW requests (no warehouse), the edition check, then the plan.
    assert envelope.data.round_trips == 5
    assert envelope.data.http_requests == 6  # the plan's request and the one result fetched with it
    assert len(envelope.data.statements) == len(provisioning[0])
    assert all(s.query_id for s in envelope.data.statements)
    tag = json.loads(provisioning[1])
    assert tag["service"] == "provisioner"
    assert tag["event"] == input_id
    assert sink.on(DEADLETTER_TOPIC) == []


async def test_a_product_in_a_known_domain_costs_one_round_trip(
    service: ProvisionerApp, gateway: RecordingGateway, sink: RecordingSink
) -> None:
    await deliver(
        service,
        created(contract()),
        created(contract(dataProduct="returns", id="c2b1e7c2-0a57-4d43-9a55-2f7b4a0f1e10")),
    )
    assert len(gateway.plans) == 4  # SHOW, edition, plan for the first; the plan alone for the second
    second = decode(sink.on(AUDIT_TOPIC)[1]).data
    assert isinstance(second, AuditProductProvisioned)
    assert second.round_trips == 1
    assert second.http_requests == 2
    assert second.domain_created is False
    assert second.schema_name.startswith("RETURNS")


async def test_the_same_event_twice_gives_the_same_audit_id(
    service: ProvisionerApp, sink: RecordingSink
) -> None:
    record = created(contract())
    await deliver(service, record, record)
    first, second = (decode(r).id for r in sink.on(AUDIT_TOPIC))
    assert first == second


@pytest.mark.parametrize(
    ("mangle", "reason"),
    [
        (lambda r: dataclasses.replace(r, topic="mesh.marketing.product"), "spoofed-domain"),
        (lambda r: dataclasses.replace(r, value=b'{"contract": '), "bad-json"),
        (
            lambda r: dataclasses.replace(
                r, headers=tuple((n, b"mesh.nonsense.v1" if n == "ce_type" else v) for n, v in r.headers)
            ),
            "unknown-type",
        ),
        (
            lambda r: dataclasses.replace(
                r,
                headers=tuple(
                    (n, b"mesh.audit.event.rejected.v1" if n == "ce_type" else v) for n, v in r.headers
                ),
            ),
            "unknown-type",
        ),
        (
            lambda r: dataclasses.replace(r, headers=tuple((n, v) for n, v in r.headers if n != "ce_id")),
            "not-a-cloudevent",
        ),
    ],
)
async def test_input_that_cannot_be_taken_is_dead_lettered_and_nothing_runs(
    service: ProvisionerApp,
    gateway: RecordingGateway,
    sink: RecordingSink,
    mangle: Callable[[KafkaRecord], KafkaRecord],
    reason: str,
) -> None:
    bad = mangle(created(contract()))
    await deliver(service, bad)

    assert gateway.plans == []
    (dead,) = sink.on(DEADLETTER_TOPIC)
    assert dead.value == bad.value
    assert dead.key == bad.key
    assert dead.header("mesh_deadletter_reason") == reason.encode()
    assert dead.header("mesh_original_topic") == bad.topic.encode()
    for name, value in bad.headers:
        assert (name, value) in dead.headers
    (audit,) = sink.on(AUDIT_TOPIC)
    rejected = decode(audit).data
    assert rejected.reason_code == reason  # type: ignore[attr-defined]


async def test_a_hostile_column_name_is_refused_before_any_sql(
    service: ProvisionerApp, gateway: RecordingGateway, sink: RecordingSink
) -> None:
    odcs = contract()
    hostile = odcs.model_dump(by_alias=True, exclude_none=True)
    hostile["schema"][0]["properties"][0]["name"] = 'x"; DROP DATABASE SALES; --'
    record = created(odcs)
    record = dataclasses.replace(record, value=json.dumps({"contract": hostile}).encode())
    await deliver(service, record)
    assert gateway.plans == []
    (dead,) = sink.on(DEADLETTER_TOPIC)
    assert dead.header("mesh_deadletter_reason") == b"unsafe-name"


async def test_a_permanent_snowflake_error_gives_a_failed_audit_and_moves_on(
    service: ProvisionerApp, gateway: RecordingGateway, sink: RecordingSink
) -> None:
    gateway.failures.append(PermanentSnowflakeError("Insufficient privileges", errno=3001, sqlstate="42501"))
    await deliver(service, created(contract()))
    (audit,) = sink.on(AUDIT_TOPIC)
    envelope = decode(audit)
    assert envelope.type == "mesh.audit.product.provisioning-failed.v1"
    assert envelope.data.failure.errno == 3001  # type: ignore[attr-defined]


async def test_a_transient_snowflake_error_is_retried_until_it_passes(
    service: ProvisionerApp, gateway: RecordingGateway, sink: RecordingSink
) -> None:
    gateway.failures.extend(
        [TransientSnowflakeError("lock wait", errno=625), TransientSnowflakeError("503", errno=None)]
    )
    await deliver(service, created(contract()))
    (audit,) = sink.on(AUDIT_TOPIC)
    assert decode(audit).type == "mesh.audit.product.provisioned.v1"
    retries = service.metrics.registry.get_sample_value(
        "meshplane_transient_retries_total", {"service": "provisioner"}
    )
    assert retries == 2


def processor_with(sink: RecordSink, work: Work, *, budget_seconds: float = 0.05) -> EventProcessor:
    return EventProcessor(
        service=ServiceRef(name="provisioner", version="test"),
        sink=sink,
        metrics=ServiceMetrics("provisioner"),
        retry=RetrySettings(initial_seconds=0.01, max_seconds=0.01, budget_seconds=budget_seconds),
        work=work,
        failed=provisioning_failed,
        accepts=frozenset({ProductCreated.EVENT_TYPE}),
    )


def at(record: KafkaRecord, partition: int, offset: int) -> KafkaRecord:
    return dataclasses.replace(record, partition=partition, offset=offset)


async def test_a_record_still_failing_when_the_retry_budget_is_spent_stops_its_partition_only(
    sink: RecordingSink,
) -> None:
    stuck_id = "7f0e7d1e-5c0b-4c38-9d0e-1b1f3c1c0a01"

    provisioner = handlers.work(
        Provisioning(RecordingGateway(), service_role="MESHPLANE_PROVISIONER", catalog=StaticCatalog())
    )

    async def work(envelope: Envelope[EventData], context: EventContext) -> Sequence[Outcome]:
        if envelope.id == stuck_id:
            raise TransientSnowflakeError("still down", errno=None)
        return await provisioner(envelope, context)

    odcs = contract()
    batch = [
        at(created(odcs), 0, 10),
        at(created(odcs, event_id=stuck_id), 0, 11),
        at(created(odcs), 1, 5),
        at(created(odcs), 0, 12),  # would succeed, but must wait behind the stuck record
    ]
    progress = await processor_with(sink, work).process_batch(batch, time_budget=60)

    assert progress.taken == 2
    assert progress.resume_at == {("mesh.sales.product", 0): 11}
    taken_offsets = [decode(audit).data.input.offset for audit in sink.on(AUDIT_TOPIC)]  # type: ignore[attr-defined]
    assert taken_offsets == [10, 5]


async def test_a_batch_out_of_time_hands_back_every_record_it_has_not_started(sink: RecordingSink) -> None:
    started: list[str] = []

    async def work(envelope: Envelope[EventData], context: EventContext) -> list[Outcome]:
        started.append(envelope.id)
        return []

    batch = [at(created(contract()), 0, 3), at(created(contract()), 1, 8), at(created(contract()), 0, 4)]
    progress = await processor_with(sink, work).process_batch(batch, time_budget=0)

    assert started == []
    assert progress.taken == 0
    assert progress.resume_at == {("mesh.sales.product", 0): 3, ("mesh.sales.product", 1): 8}
    assert sink.records == []


async def test_when_producing_the_output_fails_the_batch_fails_so_nothing_is_committed() -> None:
    class BrokenSink:
        async def enqueue(self, records: Sequence[KafkaRecord]) -> Delivery:
            failed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            failed.set_exception(KafkaConnectionError("broker gone"))
            return failed

    async def work(envelope: Envelope[EventData], context: EventContext) -> list[Outcome]:
        return []

    with pytest.raises(KafkaConnectionError):
        await processor_with(BrokenSink(), work).process_batch([created(contract())], time_budget=60)


async def test_a_remembered_domain_that_is_gone_is_observed_and_planned_again(
    service: ProvisionerApp, gateway: RecordingGateway, sink: RecordingSink
) -> None:
    await deliver(service, created(contract()))
    # The domain was dropped by hand: the next plan, made from memory, fails once.
    gateway.failures.append(PermanentSnowflakeError("Database 'SALES' does not exist", errno=2003))
    await deliver(
        service, created(contract(dataProduct="returns", id="c2b1e7c2-0a57-4d43-9a55-2f7b4a0f1e10"))
    )
    second = decode(sink.on(AUDIT_TOPIC)[1]).data
    assert isinstance(second, AuditProductProvisioned)
    assert second.domain_created is True
    assert second.round_trips == 5  # the failed plan, three SHOW, the plan


async def test_a_retired_product_loses_its_reader_role_and_is_audited(
    service: ProvisionerApp, gateway: RecordingGateway, sink: RecordingSink
) -> None:
    record = encode(
        ProductRetired(domain="sales", product="orders", major=1), topic="mesh.sales.product", source="/t"
    )
    await deliver(service, record)
    (audit,) = sink.on(AUDIT_TOPIC)
    envelope = decode(audit)
    assert envelope.type == "mesh.audit.product.retired.v1"
    assert any("DROP ROLE IF EXISTS" in s for s in gateway.statements)
    assert not any(s.startswith("DROP SCHEMA") or s.startswith("DROP TABLE") for s in gateway.statements)


async def test_an_unexpected_exception_is_retried_a_few_times_then_dead_lettered_with_a_failed_audit(
    sink: RecordingSink,
) -> None:
    calls: list[str] = []

    async def work(envelope: Envelope[EventData], context: EventContext) -> Sequence[Outcome]:
        calls.append(envelope.id)
        raise KeyError("a bug nobody foresaw")

    processor = processor_with(sink, work)
    batch = [at(created(contract()), 0, 7), at(created(contract()), 0, 8)]
    progress = await processor.process_batch(batch, time_budget=60)

    # Each record was tried the bounded number of times, then the partition moved on.
    attempts = RetrySettings().unexpected_attempts
    assert len(calls) == 2 * attempts
    assert progress.taken == 2
    assert progress.resume_at == {}
    dead = sink.on(DEADLETTER_TOPIC)
    assert [d.header("mesh_original_offset") for d in dead] == [b"7", b"8"]
    assert all(d.header("mesh_deadletter_reason") == b"handler-error" for d in dead)
    assert b"KeyError" in (dead[0].header("mesh_deadletter_detail") or b"")
    audits = [decode(a) for a in sink.on(AUDIT_TOPIC)]
    assert [a.type for a in audits] == ["mesh.audit.product.provisioning-failed.v1"] * 2
    first = audits[0].data
    assert isinstance(first, AuditProductProvisioningFailed)
    assert first.reason.startswith(f"unexpected error after {attempts} attempts: KeyError")
    assert first.failure is None


async def test_an_unexpected_exception_that_passes_on_a_retry_is_not_dead_lettered(
    sink: RecordingSink,
) -> None:
    provisioner = handlers.work(
        Provisioning(RecordingGateway(), service_role="MESHPLANE_PROVISIONER", catalog=StaticCatalog())
    )
    failures = [RuntimeError("a fluke")]

    async def work(envelope: Envelope[EventData], context: EventContext) -> Sequence[Outcome]:
        if failures:
            raise failures.pop()
        return await provisioner(envelope, context)

    progress = await processor_with(sink, work).process_batch([created(contract())], time_budget=60)

    assert progress.taken == 1
    assert sink.on(DEADLETTER_TOPIC) == []
    (audit,) = sink.on(AUDIT_TOPIC)
    assert decode(audit).type == "mesh.audit.product.provisioned.v1"


async def test_a_permanent_error_is_audited_as_failed_once_without_retries(sink: RecordingSink) -> None:
    calls = 0

    async def work(envelope: Envelope[EventData], context: EventContext) -> Sequence[Outcome]:
        nonlocal calls
        calls += 1
        raise BreakingChange("column orders.amount was removed")

    processor = processor_with(sink, work)
    await processor.process_batch([created(contract())], time_budget=60)

    assert calls == 1
    assert sink.on(DEADLETTER_TOPIC) == []
    (audit,) = sink.on(AUDIT_TOPIC)
    failed = decode(audit).data
    assert isinstance(failed, AuditProductProvisioningFailed)
    assert failed.reason == "column orders.amount was removed"


async def test_a_failure_mid_plan_audits_the_statements_that_ran_before_it(
    service: ProvisionerApp, gateway: RecordingGateway, sink: RecordingSink
) -> None:
    refused = PermanentSnowflakeError(
        "Insufficient privileges", errno=3001, sqlstate="42501", statement_index=3
    )
    gateway.failures.extend([None, refused])  # the observation passes, the plan fails at its 4th statement
    await deliver(service, created(contract()))

    (audit,) = sink.on(AUDIT_TOPIC)
    failed = decode(audit).data
    assert isinstance(failed, AuditProductProvisioningFailed)
    assert refused.plan is not None
    assert [s.sql for s in failed.statements] == [s.compile() for s in refused.plan.statements[:3]]
    assert failed.failure is not None
    assert failed.failure.statement_index == 3
    assert failed.reason == "Snowflake refused: 003001 (42501): Insufficient privileges [statement 3]"


async def test_a_failed_outcome_is_counted_as_failed_by_its_status(
    service: ProvisionerApp, gateway: RecordingGateway
) -> None:
    gateway.failures.append(PermanentSnowflakeError("Insufficient privileges", errno=3001, sqlstate="42501"))
    await deliver(service, created(contract()))
    failed = service.metrics.registry.get_sample_value(
        "meshplane_events_in_total",
        {"service": "provisioner", "type": "mesh.product.created.v1", "outcome": "failed"},
    )
    assert failed == 1


async def test_an_id_reused_with_other_content_is_dead_lettered_and_audited_apart_from_the_first(
    service: ProvisionerApp, gateway: RecordingGateway, sink: RecordingSink
) -> None:
    same_id = "5d1c9a7e-4b8f-4e0a-8c3b-7f2e1d0c9b8a"
    first = created(contract(), event_id=same_id)
    other = created(
        contract(dataProduct="returns", id="c2b1e7c2-0a57-4d43-9a55-2f7b4a0f1e10"), event_id=same_id
    )
    await deliver(service, first, first, other)

    audits = [decode(a) for a in sink.on(AUDIT_TOPIC)]
    assert [a.type for a in audits] == [
        "mesh.audit.product.provisioned.v1",
        "mesh.audit.product.provisioned.v1",  # the byte-identical replay: same effect, same audit id
        "mesh.audit.event.rejected.v1",
    ]
    assert audits[0].id == audits[1].id
    assert audits[2].id != audits[0].id  # an audit consumer dropping duplicates keeps both records
    rejected = audits[2].data
    assert isinstance(rejected, AuditEventRejected)
    assert rejected.reason_code == "id-reused"
    assert rejected.input.digest == content_digest(other) != content_digest(first)
    (dead,) = sink.on(DEADLETTER_TOPIC)
    assert dead.value == other.value
    assert dead.header("mesh_deadletter_reason") == b"id-reused"
    assert not any("RETURNS_V1" in s for s in gateway.statements)  # the reused id changed nothing
