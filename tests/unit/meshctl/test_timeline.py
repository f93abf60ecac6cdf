"""The audit timeline: one readable line per audit event, replays shown once."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from meshplane.common.events import (
    AUDIT_TOPIC,
    AuditEventRejected,
    AuditProductProvisioned,
    AuditProductProvisioningFailed,
    AuditProductRetired,
    EventData,
    ExecutedStatement,
    InputRef,
    KafkaRecord,
    ServiceRef,
    SnowflakeFailure,
    derived_event_id,
    encode,
)
from meshplane.meshctl.timeline import Timeline, short_type

SERVICE = ServiceRef(name="provisioner", version="0.1.0")
INPUT = InputRef(id="in-1", type="mesh.product.created.v1", topic="mesh.sales.product", partition=0, offset=3)
T0 = datetime(2026, 11, 22, 8, 5, 43, tzinfo=UTC)


def audit(data: EventData, action: str, at: datetime = T0) -> KafkaRecord:
    event_id = derived_event_id("in-1", action)
    return encode(data, topic=AUDIT_TOPIC, source="/provisioner", event_id=event_id, time=at)


PROVISIONED = AuditProductProvisioned(
    service=SERVICE,
    input=INPUT,
    domain="sales",
    product="orders",
    version="1.0.0",
    database="SALES",
    schema_name="ORDERS_V1",
    reader_role="SALES__ORDERS_V1_READER",
    domain_created=True,
    round_trips=2,
    statements=tuple(ExecutedStatement(sql=f"S{i}") for i in range(14)),
)


def test_short_types() -> None:
    assert short_type("mesh.audit.product.provisioned.v1") == "product.provisioned"
    assert short_type("mesh.audit.event.rejected.v1") == "event.rejected"
    assert short_type("mesh.product.created.v1") == "product.created"
    assert short_type("something.else") == "something.else"


def test_a_provisioned_product_shows_statements_and_round_trips() -> None:
    (line,) = Timeline().lines([audit(PROVISIONED, "provisioned")])
    assert line.startswith("2026-11-22T08:05:43Z  product.provisioned")
    assert "sales.orders" in line
    assert "v1.0.0 SALES.ORDERS_V1: 14 statements, 2 round trips, domain created" in line
    assert line.endswith(derived_event_id("in-1", "provisioned")[:8])


def test_a_rejection_shows_its_reason() -> None:
    rejected = AuditEventRejected(
        service=SERVICE,
        input=InputRef(topic="mesh.marketing.product", partition=0, offset=9, key="sales.orders"),
        reason_code="spoofed-domain",
        reason="the event speaks for domain 'sales'\nbut arrived on mesh.marketing.product",
        domain="marketing",
    )
    (line,) = Timeline().lines([audit(rejected, "rejected")])
    assert "event.rejected" in line
    assert "sales.orders" in line
    assert "spoofed-domain: the event speaks for domain 'sales' but arrived on mesh.marketing.product" in line
    assert "\n" not in line


def test_failures_and_retirements_have_a_summary() -> None:
    failed = AuditProductProvisioningFailed(
        service=SERVICE,
        input=INPUT,
        domain="sales",
        product="orders",
        reason="insufficient privileges",
        failure=SnowflakeFailure(errno=3001, message="denied"),
        statements=(),
    )
    retired = AuditProductRetired(
        service=SERVICE,
        input=INPUT,
        domain="sales",
        product="orders",
        major=1,
        schema_name="ORDERS_V1",
        reader_role="R",
        statements=(ExecutedStatement(sql="DROP ROLE R"),),
    )
    failed_line, retired_line = Timeline().lines([audit(failed, "failed"), audit(retired, "retired")])
    assert "product.provisioning-failed" in failed_line
    assert "insufficient privileges (errno 3001)" in failed_line
    assert "product.retired" in retired_line
    assert "v1 retired (ORDERS_V1), 1 statement" in retired_line


def test_a_replayed_event_is_shown_once() -> None:
    first = audit(PROVISIONED, "provisioned")
    replay = dataclasses.replace(first, offset=99)
    timeline = Timeline()
    assert len(timeline.lines([first, replay])) == 1
    assert timeline.lines([replay]) == []
    assert timeline.duplicates == 2


def test_a_catch_up_read_is_ordered_by_event_time() -> None:
    later = audit(PROVISIONED, "later", at=T0 + timedelta(minutes=5))
    earlier = audit(PROVISIONED, "earlier", at=T0)
    lines = Timeline().lines([later, earlier], by_time=True)
    assert [line[:20] for line in lines] == ["2026-11-22T08:05:43Z", "2026-11-22T08:10:43Z"]


def test_a_record_that_is_not_a_mesh_event_is_shown_not_hidden() -> None:
    junk = KafkaRecord(topic=AUDIT_TOPIC, key=None, value=b"hello", headers=(), partition=0, offset=5)
    (line,) = Timeline().lines([junk])
    assert "(undecodable)" in line
    assert "mesh.audit[0]@5" in line
    assert "not-a-cloudevent" in line


def test_the_http_requests_show_when_the_audit_event_has_them() -> None:
    data = PROVISIONED.model_copy(update={"http_requests": 7})
    (line,) = Timeline().lines([audit(data, "provisioned")])
    assert "14 statements, 2 round trips (7 HTTP requests), domain created" in line
