"""The mesh's event contract: encode → decode, the wire format, and every reason an input is refused."""

from __future__ import annotations

import copy
import dataclasses
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, get_args

import pytest
import yaml
from open_data_contract_standard.model import OpenDataContractStandard

from meshplane.common.events import (
    AUDIT_TOPIC,
    EVENT_TYPES,
    AuditEventRejected,
    AuditProductProvisioned,
    EventRejectedError,
    ExecutedStatement,
    InputRef,
    KafkaRecord,
    ProductCreated,
    ProductRetired,
    ProductUpdated,
    RejectionReason,
    ServiceRef,
    decode,
    derived_event_id,
    domain_topic,
    encode,
)

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def example(name: str = "sales-orders") -> dict[str, Any]:
    loaded = yaml.safe_load((EXAMPLES / f"{name}.odcs.yaml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def created(document: dict[str, Any] | None = None) -> ProductCreated:
    return ProductCreated(contract=OpenDataContractStandard.model_validate(document or example()))


def sales_record(**kwargs: Any) -> KafkaRecord:
    return encode(created(), topic=domain_topic("sales", "product"), source="/tests", **kwargs)


def rejection(record: KafkaRecord) -> EventRejectedError:
    with pytest.raises(EventRejectedError) as caught:
        decode(record)
    return caught.value


def with_headers(record: KafkaRecord, **replaced: bytes | None) -> KafkaRecord:
    """``record`` with headers replaced (a value) or dropped (None)."""
    headers = [(name, value) for name, value in record.headers if name not in replaced]
    headers += [(name, value) for name, value in replaced.items() if value is not None]
    return dataclasses.replace(record, headers=tuple(headers))


def with_data(record: KafkaRecord, data: object) -> KafkaRecord:
    return dataclasses.replace(record, value=json.dumps(data).encode())


def contract_data(record: KafkaRecord) -> dict[str, Any]:
    loaded = json.loads(record.value)
    assert isinstance(loaded, dict)
    return loaded


# ---------------------------------------------------------------------------------------------
# Round trip and wire format


@pytest.mark.parametrize("name", ["sales-orders", "marketing-campaigns"])
def test_encode_then_decode_gives_the_same_event(name: str) -> None:
    data = created(example(name))
    record = encode(data, topic=domain_topic(data.mesh.domain, "product"), source="/tests")

    envelope = decode(record)

    assert envelope.type == "mesh.product.created.v1"
    assert envelope.source == "/tests"
    assert isinstance(envelope.data, ProductCreated)
    assert envelope.data == data
    assert envelope.data.mesh == data.mesh


def test_every_product_event_round_trips() -> None:
    for data in (
        created(),
        ProductUpdated(contract=created().contract),
        ProductRetired(domain="sales", product="orders", major=1, reason="replaced by v2"),
    ):
        assert decode(encode(data, topic=domain_topic("sales", "product"), source="/tests")).data == data


def test_the_key_is_the_product_id() -> None:
    assert sales_record().key == b"sales.orders"
    retired = ProductRetired(domain="sales", product="orders", major=1)
    assert encode(retired, topic=domain_topic("sales", "product"), source="/tests").key == b"sales.orders"


def test_binary_mode_puts_the_attributes_in_ce_headers() -> None:
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    record = sales_record(event_id="e-1", time=at, correlation_id="chain-1", causation_id="cause-1")

    headers = dict(record.headers)
    assert headers["ce_id"] == b"e-1"
    assert headers["ce_source"] == b"/tests"
    assert headers["ce_type"] == b"mesh.product.created.v1"
    assert headers["ce_specversion"] == b"1.0"
    assert headers["ce_subject"] == b"sales.orders"
    assert headers["ce_correlationid"] == b"chain-1"
    assert headers["ce_causationid"] == b"cause-1"
    assert headers["content-type"] == b"application/json"
    assert datetime.fromisoformat(headers["ce_time"].decode().replace("Z", "+00:00")) == at
    # Binary mode: the value is the data itself, not a structured CloudEvent.
    value = contract_data(record)
    assert "specversion" not in value
    assert value["contract"]["dataProduct"] == "orders"

    envelope = decode(record)
    assert (envelope.id, envelope.time, envelope.subject) == ("e-1", at, "sales.orders")
    assert (envelope.correlation_id, envelope.causation_id) == ("chain-1", "cause-1")
    assert envelope.chain_id == "chain-1"


def test_a_new_event_gets_a_fresh_id_and_starts_its_own_chain() -> None:
    first, second = decode(sales_record()), decode(sales_record())
    assert first.id != second.id
    uuid.UUID(first.id)
    assert first.chain_id == first.id


def test_traceparent_travels_beside_the_cloudevents_headers() -> None:
    traceparent = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    record = sales_record(extra_headers=[("traceparent", traceparent)])
    assert decode(record).traceparent == traceparent.decode()


def test_audit_events_round_trip_on_the_audit_topic() -> None:
    data = AuditProductProvisioned(
        service=ServiceRef(name="provisioner", version="0.1.0"),
        input=InputRef(
            id="in-1", type="mesh.product.created.v1", topic="mesh.sales.product", partition=0, offset=7
        ),
        domain="sales",
        product="orders",
        version="1.0.0",
        database="SALES",
        schema_name="ORDERS_V1",
        reader_role="SALES__ORDERS_V1_READER",
        domain_created=True,
        round_trips=2,
        statements=(ExecutedStatement(sql="CREATE SCHEMA ...", query_id="q-1"),),
    )
    record = encode(data, topic=AUDIT_TOPIC, source="/provisioner", event_id=derived_event_id("in-1", "x"))
    assert record.key == b"sales.orders"
    assert decode(record).data == data


# ---------------------------------------------------------------------------------------------
# Rejections: each reason maps to its code, and decode never raises anything else


def test_bad_json_is_rejected_as_bad_json() -> None:
    record = dataclasses.replace(sales_record(), value=b'{"contract": {')
    assert rejection(record).code == "bad-json"


@pytest.mark.parametrize("value", [b"\xff\xfe not utf-8", b"[1, 2]", b'"a string"', b""])
def test_a_value_that_is_not_a_json_object_is_bad_json(value: bytes) -> None:
    assert rejection(dataclasses.replace(sales_record(), value=value)).code == "bad-json"


def test_a_content_type_other_than_json_is_bad_json() -> None:
    assert rejection(with_headers(sales_record(), **{"content-type": b"text/plain"})).code == "bad-json"


@pytest.mark.parametrize("header", ["ce_id", "ce_source", "ce_type", "ce_specversion"])
def test_a_missing_required_header_is_not_a_cloudevent(header: str) -> None:
    error = rejection(with_headers(sales_record(), **{header: None}))
    assert error.code == "not-a-cloudevent"
    assert header in error.reason


def test_no_headers_at_all_is_not_a_cloudevent() -> None:
    assert rejection(dataclasses.replace(sales_record(), headers=())).code == "not-a-cloudevent"


def test_another_specversion_is_not_a_cloudevent() -> None:
    assert rejection(with_headers(sales_record(), ce_specversion=b"0.3")).code == "not-a-cloudevent"


def test_an_unknown_type_is_rejected_naming_it() -> None:
    error = rejection(with_headers(sales_record(event_id="e-9"), ce_type=b"mesh.product.exploded.v1"))
    assert error.code == "unknown-type"
    assert "mesh.product.exploded.v1" in error.reason
    assert (error.event_id, error.event_type) == ("e-9", "mesh.product.exploded.v1")


def test_data_that_breaks_the_model_is_a_schema_error() -> None:
    retired = encode(
        ProductRetired(domain="sales", product="orders", major=1),
        topic=domain_topic("sales", "product"),
        source="/t",
    )
    for data in (
        {"domain": "sales", "product": "orders", "major": -1},
        {"domain": "sales", "product": "orders"},
        {"domain": "sales", "product": "orders", "major": 1, "surprise": True},
    ):
        assert rejection(with_data(retired, data)).code == "schema-error", data


def test_a_contract_the_mesh_cannot_act_on_is_a_schema_error() -> None:
    document = example()
    for prop in document["customProperties"]:
        if prop["property"] == "monthlyCreditBudget":
            prop["value"] = -5
    error = rejection(with_data(sales_record(), {"contract": document}))
    assert error.code == "schema-error"
    assert "monthlyCreditBudget" in error.reason


@pytest.mark.parametrize("budget", [1e18, 1_000_001, float("inf"), float("nan")])
def test_a_budget_beyond_any_real_account_is_a_schema_error(budget: float) -> None:
    document = example()
    for prop in document["customProperties"]:
        if prop["property"] == "monthlyCreditBudget":
            prop["value"] = budget
    error = rejection(with_data(sales_record(), {"contract": document}))
    assert error.code == "schema-error"
    assert "monthlyCreditBudget" in error.reason


def test_the_largest_budget_allowed_is_a_million_credits_a_month() -> None:
    document = example()
    for prop in document["customProperties"]:
        if prop["property"] == "monthlyCreditBudget":
            prop["value"] = 1_000_000
    assert decode(with_data(sales_record(), {"contract": document})).data.mesh.monthly_credit_budget == 1e6  # type: ignore[attr-defined]


def test_an_event_time_far_in_the_future_is_a_schema_error() -> None:
    error = rejection(sales_record(time=datetime.now(UTC) + timedelta(days=400)))
    assert error.code == "schema-error"
    assert "ce_time" in error.reason
    # A clock a few minutes fast is no reason to refuse an event.
    assert (
        decode(sales_record(time=datetime.now(UTC) + timedelta(minutes=5))).type == "mesh.product.created.v1"
    )


HOSTILE_COLUMN_NAMES = {
    "sql injection": 'x"; drop table y; --',
    "300 characters": "a" * 300,
    "Cyrillic o look-alike": "\u043erder_id",
    "fullwidth letters": "\uff4f\uff52\uff44\uff45\uff52",
    "zero-width space": "order\u200b_id",
    "space": "order id",
}


@pytest.mark.parametrize("name", HOSTILE_COLUMN_NAMES.values(), ids=HOSTILE_COLUMN_NAMES.keys())
def test_a_column_name_that_breaks_the_naming_rule_is_an_unsafe_name(name: str) -> None:
    document = copy.deepcopy(example())
    document["schema"][0]["properties"][0]["name"] = name
    error = rejection(with_data(sales_record(), {"contract": document}))
    assert error.code == "unsafe-name"
    assert "schema[0].properties[0].name" in error.reason


def test_an_unsafe_table_name_is_an_unsafe_name() -> None:
    document = example()
    document["schema"][0]["physicalName"] = "order_lines; drop"
    assert rejection(with_data(sales_record(), {"contract": document})).code == "unsafe-name"


def test_an_unsafe_domain_in_the_contract_is_an_unsafe_name() -> None:
    document = example()
    document["domain"] = "Sales\u0430"
    assert rejection(with_data(sales_record(), {"contract": document})).code == "unsafe-name"


def test_a_product_event_on_another_domains_topic_is_a_spoofed_domain() -> None:
    record = encode(created(), topic=domain_topic("marketing", "product"), source="/tests")
    error = rejection(record)
    assert error.code == "spoofed-domain"
    assert "sales" in error.reason
    assert "mesh.marketing.product" in error.reason


def test_a_retirement_for_another_domain_is_a_spoofed_domain() -> None:
    retired = ProductRetired(domain="sales", product="orders", major=1)
    record = encode(retired, topic=domain_topic("marketing", "product"), source="/tests")
    assert rejection(record).code == "spoofed-domain"


def test_audit_events_are_not_checked_against_a_domain_topic() -> None:
    data = AuditEventRejected(
        service=ServiceRef(name="provisioner", version="0.1.0"),
        input=InputRef(topic="mesh.marketing.product", partition=0, offset=1, key="sales.orders"),
        reason_code="spoofed-domain",
        reason="…",
        domain="marketing",
    )
    assert decode(encode(data, topic=AUDIT_TOPIC, source="/provisioner")).data == data


def test_the_rejection_reasons_cover_every_code_a_publisher_is_told() -> None:
    told = {
        "bad-json",
        "not-a-cloudevent",
        "unknown-type",
        "schema-error",
        "unsafe-name",
        "spoofed-domain",
        "id-reused",
    }
    assert set(get_args(RejectionReason)) == told


# ---------------------------------------------------------------------------------------------
# Derived ids and the registry


def test_derived_ids_are_stable_across_runs_and_releases() -> None:
    # A replay must produce the same audit id, today and after an upgrade: pin one value.
    assert derived_event_id("7b0c1a52-8c55-4e0b-9d0e-2f6a3c1d9e41", "provisioned") == (
        "33eb2302-eeee-5a74-aa23-b920c140b5fb"
    )
    assert derived_event_id("in-1", "provisioned") == derived_event_id("in-1", "provisioned")
    # With the input's content digest (what the services use since ids may not be reused).
    assert derived_event_id("in-1", "provisioner/provisioned", "ab" * 32) == (
        derived_event_id("in-1", "provisioner/provisioned", "ab" * 32)
    )
    assert derived_event_id("in-1", "provisioner/provisioned", "ab" * 32) != (
        derived_event_id("in-1", "provisioner/provisioned", "cd" * 32)
    )


def test_derived_ids_differ_by_input_and_by_action() -> None:
    ids = {
        derived_event_id("in-1", "provisioned"),
        derived_event_id("in-2", "provisioned"),
        derived_event_id("in-1", "rejected"),
    }
    assert len(ids) == 3
    assert all(uuid.UUID(i).version == 5 for i in ids)


def test_every_registered_type_is_versioned_and_names_its_model() -> None:
    assert EVENT_TYPES
    for name, model in EVENT_TYPES.items():
        assert name.startswith("mesh.")
        assert name.rsplit(".", 1)[1].startswith("v")
        assert name == model.EVENT_TYPE


def test_an_event_keyed_otherwise_than_its_product_is_refused() -> None:
    record = dataclasses.replace(sales_record(), key=b"sales.something_else")
    error = rejection(record)
    assert error.code == "schema-error"
    assert "sales.orders" in error.reason
