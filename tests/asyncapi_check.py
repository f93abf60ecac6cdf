"""Checks a Kafka record against a service's AsyncAPI document, with jsonschema: is the document true
to the wire?

The message is found by the record's ``ce_type`` among the messages of the channel whose address
matches the record's topic; then its headers (as text) are validated against the message's
``headers`` schema, its value (JSON) against the ``payload`` schema, and its key against the Kafka
binding's ``key`` schema. References are resolved inside the document.
"""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema

from meshplane.common.events import KafkaRecord


def _resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        path = node["$ref"].removeprefix("#/").split("/")
        target: Any = document
        for part in path:
            target = target[part]
        node = target
    return node


def _channel_of(document: dict[str, Any], topic: str) -> dict[str, Any]:
    for channel in document["channels"].values():
        pattern = re.escape(channel["address"]).replace(re.escape("{domain}"), "[a-z0-9_]+")
        if re.fullmatch(pattern, topic):
            return channel  # type: ignore[no-any-return]
    raise AssertionError(f"no channel of the document has the address of {topic}")


def message_for(document: dict[str, Any], record: KafkaRecord) -> dict[str, Any]:
    """The message of ``document`` that describes ``record`` (by topic and ``ce_type``)."""
    channel = _channel_of(document, record.topic)
    ce_type = (record.header("ce_type") or b"").decode()
    for reference in channel["messages"].values():
        message = _resolve(document, reference)
        if _resolve(document, message["headers"])["properties"]["ce_type"].get("const") == ce_type:
            return message
    raise AssertionError(f"channel {channel['address']} declares no message of type {ce_type}")


def validate(document: dict[str, Any], record: KafkaRecord) -> None:
    """Raise ``jsonschema.ValidationError`` if ``record`` is not what the document says it is."""
    message = message_for(document, record)

    def schema(node: dict[str, Any]) -> dict[str, Any]:
        # Refs like "#/components/schemas/X" resolve against this root, which carries the document.
        return {"components": document["components"], **node}

    headers = {name: value.decode() for name, value in record.headers}
    jsonschema.validate(headers, schema(message["headers"]), format_checker=jsonschema.FormatChecker())
    jsonschema.validate(json.loads(record.value), schema(message["payload"]))
    key = message["bindings"]["kafka"]["key"]
    jsonschema.validate(None if record.key is None else record.key.decode(), schema(key))
    location = _resolve(document, message["correlationId"])["location"]
    header = location.removeprefix("$message.header#/")
    assert header in headers or record.header("ce_correlationid") is None, location
