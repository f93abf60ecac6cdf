"""Access events: a domain asks for itself (or an account it sponsors); only the owner decides."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from meshplane.common.events import (
    AccessDecided,
    AccessRequested,
    EventRejectedError,
    ExternalConsumer,
    InternalConsumer,
    KafkaRecord,
    decode,
    domain_topic,
    encode,
)


def request(**changes: Any) -> AccessRequested:
    fields: dict[str, Any] = {
        "request_id": "req-1",
        "domain": "sales",
        "product": "orders",
        "major": 1,
        "requester": "marketing",
        "consumer": InternalConsumer(domain="marketing"),
        "purpose": "campaign attribution",
        "duration": timedelta(days=30),
    }
    return AccessRequested(**(fields | changes))


def with_data(record: KafkaRecord, data: dict[str, Any]) -> KafkaRecord:
    return KafkaRecord(record.topic, record.key, json.dumps(data).encode(), record.headers)


def test_a_request_travels_on_the_consumers_topic_keyed_by_the_product() -> None:
    record = encode(request(), topic=domain_topic("marketing", "access"), source="/tests")
    assert record.key == b"sales.orders"
    decoded = decode(record).data
    assert decoded == request()
    assert json.loads(record.value)["duration"] == "P30D"  # ISO 8601 on the wire


def test_a_request_published_on_another_domains_topic_is_spoofed() -> None:
    record = encode(request(), topic=domain_topic("finance", "access"), source="/tests")
    with pytest.raises(EventRejectedError) as rejected:
        decode(record)
    assert rejected.value.code == "spoofed-domain"


def test_only_the_owner_decides() -> None:
    decision = AccessDecided(
        request_id="req-1", domain="sales", product="orders", major=1, decision="approve", reason="ok"
    )
    assert decode(encode(decision, topic=domain_topic("sales", "access"), source="/t")).data == decision
    with pytest.raises(EventRejectedError) as rejected:
        decode(encode(decision, topic=domain_topic("marketing", "access"), source="/t"))
    assert rejected.value.code == "spoofed-domain"


def test_a_domain_cannot_ask_for_another_domain() -> None:
    record = encode(request(), topic=domain_topic("marketing", "access"), source="/tests")
    data = json.loads(record.value)
    data["consumer"] = {"kind": "domain", "domain": "finance"}
    with pytest.raises(EventRejectedError) as rejected:
        decode(with_data(record, data))
    assert rejected.value.code == "schema-error"
    assert "for itself" in rejected.value.reason


@pytest.mark.parametrize("account", ["ACME.PROD'; DROP SHARE X; --", "acme", "1ACME.PROD", "ACME.PROD.EXTRA"])
def test_an_account_that_is_not_org_dot_account_is_refused(account: str) -> None:
    record = encode(
        request(consumer=ExternalConsumer(account="ACME.PROD")),
        topic=domain_topic("marketing", "access"),
        source="/tests",
    )
    data = json.loads(record.value)
    data["consumer"]["account"] = account
    with pytest.raises(EventRejectedError) as rejected:
        decode(with_data(record, data))
    assert rejected.value.code == "schema-error"


def test_an_absurd_duration_is_parsed_so_the_policy_can_deny_it_with_a_reason() -> None:
    record = encode(request(), topic=domain_topic("marketing", "access"), source="/tests")
    data = json.loads(record.value)
    data["duration"] = "-P1D"
    decoded = decode(with_data(record, data)).data
    assert isinstance(decoded, AccessRequested)
    assert decoded.duration == timedelta(days=-1)
