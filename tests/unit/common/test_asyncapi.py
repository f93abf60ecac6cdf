"""The AsyncAPI document is true to the wire: real encoded events validate against it (jsonschema)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jsonschema
import pytest
from open_data_contract_standard.model import OpenDataContractStandard

from meshplane.common.catalog import entries
from meshplane.common.events import (
    AUDIT_TOPIC,
    CATALOG_TOPIC,
    AuditEventRejected,
    InputRef,
    KafkaRecord,
    ProductCreated,
    ProductRetired,
    ProductUpdated,
    ServiceRef,
    derived_event_id,
    domain_topic,
    encode,
    read_contract,
)
from meshplane.provisioner.service import SERVICE
from tests.asyncapi_check import message_for, validate

EXAMPLES = Path(__file__).parents[3] / "examples"
DOCUMENT = SERVICE.asyncapi()


def example() -> OpenDataContractStandard:
    return OpenDataContractStandard.from_file(str(EXAMPLES / "sales-orders.odcs.yaml"))


def product_events() -> list[KafkaRecord]:
    topic = domain_topic("sales", "product")
    return [
        encode(ProductCreated(contract=example()), topic=topic, source="/tests", correlation_id="c-1"),
        encode(ProductUpdated(contract=example()), topic=topic, source="/tests"),
        encode(ProductRetired(domain="sales", product="orders", major=1), topic=topic, source="/tests"),
    ]


@pytest.mark.parametrize("record", product_events(), ids=lambda r: (r.header("ce_type") or b"").decode())
def test_every_product_event_validates_against_its_own_message(record: KafkaRecord) -> None:
    validate(DOCUMENT, record)


def test_created_and_updated_are_told_apart_by_their_type_header() -> None:
    created, updated, _ = product_events()
    assert message_for(DOCUMENT, created)["title"] == "ProductCreated"
    assert message_for(DOCUMENT, updated)["title"] == "ProductUpdated"
    # An updated event's headers do not validate as a created one: the documents are not identical.
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(
            {n: v.decode() for n, v in updated.headers}, message_for(DOCUMENT, created)["headers"]
        )


def test_an_audit_event_validates_against_the_audit_channel() -> None:
    audit = AuditEventRejected(
        service=ServiceRef(name="provisioner", version="test"),
        input=InputRef(topic="mesh.sales.product", partition=0, offset=3, key="sales.orders"),
        reason_code="bad-json",
        reason="the value is not JSON",
        domain="sales",
    )
    record = encode(
        audit,
        topic=AUDIT_TOPIC,
        source="/meshplane/provisioner",
        event_id=derived_event_id("x", "provisioner/rejected"),
        correlation_id="x",
        causation_id="x",
        extra_headers=[("traceparent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")],
    )
    validate(DOCUMENT, record)


def test_a_wrong_key_or_a_broken_traceparent_is_caught() -> None:
    created = product_events()[0]
    with pytest.raises(jsonschema.ValidationError):
        validate(DOCUMENT, dataclasses.replace(created, key=b"Sales Orders"))
    with pytest.raises(jsonschema.ValidationError):
        validate(DOCUMENT, dataclasses.replace(created, headers=(*created.headers, ("traceparent", b"nope"))))


def test_the_correlation_id_names_the_header_the_wire_carries() -> None:
    created = product_events()[0]
    location = DOCUMENT["components"]["correlationIds"]["chain"]["location"]
    assert location == "$message.header#/ce_correlationid"
    assert created.header("ce_correlationid") == b"c-1"


def test_every_reference_in_the_document_resolves() -> None:
    def refs(node: object) -> list[str]:
        if isinstance(node, dict):
            found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
            return found + [r for value in node.values() for r in refs(value)]
        if isinstance(node, list):
            return [r for value in node for r in refs(value)]
        return []

    for ref in refs(DOCUMENT):
        target: object = DOCUMENT
        for part in ref.removeprefix("#/").split("/"):
            assert isinstance(target, dict), f"{ref} does not resolve"
            assert part in target, f"{ref} does not resolve"
            target = target[part]


def test_a_catalog_entry_validates_against_the_catalog_channel() -> None:
    entry = entries.provisioned(None, read_contract(example()), {"dataProduct": "orders"}, changed_by="in-1")
    validate(DOCUMENT, encode(entry, topic=CATALOG_TOPIC, source="/meshplane/provisioner"))
