"""A service's AsyncAPI 3 document, generated from its declaration and true to the wire.

Built from the :class:`~meshplane.common.kit.spec.ServiceSpec` rather than from FastStream's own
generator: the subscribers take raw record batches (the mesh decodes each record itself, so bad
input can be dead-lettered), so FastStream knows neither the event types nor the CloudEvents
headers nor the key. Here every event type is a message of its own, with:

* ``headers`` — the CloudEvents binary-mode attributes as Kafka headers (``ce_specversion``,
  ``ce_id``, ``ce_source``, ``ce_type`` fixed to the message's type, ``ce_time``, ``ce_subject``, the
  ``ce_correlationid`` / ``ce_causationid`` extensions), ``content-type`` and W3C ``traceparent``;
* ``payload`` — the JSON Schema of the event's data (pydantic's, the same as ``docs/events/``);
* ``correlationId`` — ``$message.header#/ce_correlationid``, the header that carries the chain;
* the Kafka binding's ``key`` — the product id ``<domain>.<product>``.

Channels: one per subscription, ``mesh.{domain}.<kind>``, with every message its handlers take;
``mesh.audit`` with every audit event the service emits; ``mesh.deadletter`` with the rejected
record as it arrived plus the ``mesh_deadletter_*`` headers. Operations say which the service
receives (in its consumer group) and which it sends.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Final, get_args

from pydantic.json_schema import models_json_schema

from meshplane.common.events import CatalogEntry, EventData
from meshplane.common.events.audit import RejectionReason
from meshplane.common.events.names import MESH_NAME_RULE
from meshplane.common.events.topics import AUDIT_TOPIC, CATALOG_TOPIC, DEADLETTER_TOPIC
from meshplane.common.messaging import DEADLETTER_HEADERS, HANDLER_ERROR

if TYPE_CHECKING:
    from meshplane.common.kit.spec import ServiceSpec

__all__ = ["DEADLETTER_REASONS", "asyncapi_document", "cloudevent_headers"]

_KAFKA_BINDING: Final = "0.5.0"
#: Every ``mesh_deadletter_reason`` a dead letter may carry.
DEADLETTER_REASONS: Final = (*get_args(RejectionReason), HANDLER_ERROR)

_NAME: Final = "[a-z](?:_?[a-z0-9])*"
#: A product id, ``<domain>.<product>``: the key of every event about a product.
_PRODUCT_ID_KEY: Final = {
    "type": "string",
    "pattern": f"^{_NAME}\\.{_NAME}$",
    "description": f"The product id <domain>.<product> ({MESH_NAME_RULE}): a product's events stay in order.",
}
#: W3C Trace Context, version 00 (https://www.w3.org/TR/trace-context/#traceparent-header).
_TRACEPARENT: Final = "^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"


def cloudevent_headers(event_type: str) -> dict[str, Any]:
    """The JSON Schema of the Kafka headers of an event of ``event_type``, header values as text."""
    text = {"type": "string", "minLength": 1}
    return {
        "type": "object",
        "required": ["ce_specversion", "ce_id", "ce_source", "ce_type", "content-type"],
        "properties": {
            "ce_specversion": {"const": "1.0"},
            "ce_id": {**text, "description": "The event's id: consumers drop duplicates by it."},
            "ce_source": {**text, "description": "Who published the event (a URI reference)."},
            "ce_type": {"const": event_type},
            "ce_time": {"type": "string", "format": "date-time"},
            "ce_subject": {**text, "description": "What the event is about: the product id."},
            "ce_correlationid": {**text, "description": "The id of the event that started the chain."},
            "ce_causationid": {**text, "description": "The id of the event this one answers."},
            "content-type": {
                "type": "string",
                "pattern": "^application/json(\\s*;.*)?$",
                "description": "The value is the event's data as JSON.",
            },
            "traceparent": {"type": "string", "pattern": _TRACEPARENT},
        },
    }


def _summary(model: type[EventData]) -> str:
    return inspect.cleandoc(model.__doc__ or "").split("\n\n", 1)[0].replace("\n", " ")


def _message(model: type[EventData], *, keyed_by_product: bool) -> dict[str, Any]:
    key: dict[str, Any] = (
        _PRODUCT_ID_KEY
        if keyed_by_product
        else {"type": "string", "description": "The product id where the event is about one product."}
    )
    return {
        "name": model.EVENT_TYPE,
        "title": model.__name__,
        "summary": _summary(model),
        "contentType": "application/json",
        "headers": cloudevent_headers(model.EVENT_TYPE),
        "payload": {"$ref": f"#/components/schemas/{model.__name__}"},
        "correlationId": {"$ref": "#/components/correlationIds/chain"},
        "bindings": {"kafka": {"key": key, "bindingVersion": _KAFKA_BINDING}},
    }


def _dead_letter() -> dict[str, Any]:
    headers: dict[str, dict[str, Any]] = {name: {"type": "string"} for name in DEADLETTER_HEADERS}
    headers["mesh_deadletter_reason"] = {"enum": list(DEADLETTER_REASONS)}
    headers["mesh_original_partition"] = {"type": "string", "pattern": "^[0-9]+$"}
    headers["mesh_original_offset"] = {"type": "string", "pattern": "^[0-9]+$"}
    return {
        "name": "dead-letter",
        "title": "DeadLetter",
        "summary": "Input that could not be taken, as it arrived, with why and where it came from.",
        "description": (
            "The rejected record's key, value and headers, byte for byte, plus the mesh_deadletter_* "
            "and mesh_original_* headers. An event.rejected audit event (or, for handler-error, the "
            "service's failure audit event) says the same on the audit topic."
        ),
        "headers": {"type": "object", "required": list(DEADLETTER_HEADERS), "properties": headers},
        "payload": {"description": "The rejected record's value, unchanged (any bytes)."},
    }


def _refs(models: Iterable[type[EventData]]) -> dict[str, Any]:
    return {model.__name__: {"$ref": f"#/components/messages/{model.__name__}"} for model in models}


def _operation_messages(channel: str, names: Iterable[str]) -> list[dict[str, str]]:
    return [{"$ref": f"#/channels/{channel}/messages/{name}"} for name in names]


def asyncapi_document(spec: ServiceSpec[Any, Any]) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of ``spec`` (see the module docstring)."""
    accepted = spec.accepted_models
    audits = spec.audit_types
    written: tuple[type[EventData], ...] = (CatalogEntry,) if spec.catalog == "write" else ()
    _, definitions = models_json_schema(
        [(model, "validation") for model in (*accepted, *audits, *written)],
        ref_template="#/components/schemas/{model}",
    )
    messages: dict[str, Any] = {model.__name__: _message(model, keyed_by_product=True) for model in accepted}
    messages.update({model.__name__: _message(model, keyed_by_product=False) for model in audits})
    messages.update({model.__name__: _message(model, keyed_by_product=True) for model in written})
    messages["DeadLetter"] = _dead_letter()

    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    group = {
        "type": "string",
        "description": f"meshplane-{spec.name} unless MESH_{spec.name.upper()}_GROUP_ID",
    }
    for subscription in spec.subscriptions:
        models = subscription.handlers.models
        channels[subscription.kind] = {
            "address": f"mesh.{{domain}}.{subscription.kind}",
            "title": subscription.title,
            "description": subscription.description,
            "parameters": {"domain": {"description": f"The publishing domain ({MESH_NAME_RULE})."}},
            "messages": _refs(models),
        }
        operations[f"receive_{subscription.kind}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{subscription.kind}"},
            "summary": f"{spec.name} takes {', '.join(m.EVENT_TYPE for m in models)}.",
            "messages": _operation_messages(subscription.kind, (m.__name__ for m in models)),
            "bindings": {"kafka": {"groupId": group, "bindingVersion": _KAFKA_BINDING}},
        }
    channels["audit"] = {
        "address": AUDIT_TOPIC,
        "title": f"{spec.name} audit",
        "description": "What the service did; ids derived from the input event, so replays repeat them.",
        "messages": _refs(audits),
    }
    operations["send_audit"] = {
        "action": "send",
        "channel": {"$ref": "#/channels/audit"},
        "messages": _operation_messages("audit", (m.__name__ for m in audits)),
    }
    if written:
        channels["catalog"] = {
            "address": CATALOG_TOPIC,
            "title": "catalog",
            "description": (
                "Every product's current entry, keyed by product id, on a compacted topic: read it from the "
                "start for the whole catalog. Written in the same batch as the audit event."
            ),
            "messages": _refs(written),
        }
        operations["send_catalog"] = {
            "action": "send",
            "channel": {"$ref": "#/channels/catalog"},
            "messages": _operation_messages("catalog", (m.__name__ for m in written)),
        }
    channels["deadletter"] = {
        "address": DEADLETTER_TOPIC,
        "title": f"{spec.name} dead letters",
        "description": "Input that could not be taken.",
        "messages": {"DeadLetter": {"$ref": "#/components/messages/DeadLetter"}},
    }
    operations["send_deadletter"] = {
        "action": "send",
        "channel": {"$ref": "#/channels/deadletter"},
        "messages": _operation_messages("deadletter", ("DeadLetter",)),
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": f"Meshplane {spec.name}",
            "version": spec.version,
            "description": spec.description,
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": messages,
            "schemas": definitions.get("$defs", {}),
            "correlationIds": {
                "chain": {
                    "description": "The id of the event that started the chain (CloudEvents extension).",
                    "location": "$message.header#/ce_correlationid",
                }
            },
        },
    }
