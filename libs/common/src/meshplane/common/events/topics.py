"""The mesh's Kafka topics, and how a topic names the domain that may publish on it.

A domain's identity is its topic: the sales domain publishes its product lifecycle on
``mesh.sales.product`` and nowhere else, and Kafka ACLs decide who may write there. A service reads
every domain's topic of a kind by subscribing to a pattern, so a new domain needs no redeploy.
Audit events from every service go to one topic, and input that cannot be taken to another.
"""

from __future__ import annotations

from typing import Final

from meshplane.common.events.names import MESH_NAME_RULE, is_mesh_name

__all__ = [
    "AUDIT_TOPIC",
    "DEADLETTER_TOPIC",
    "PRODUCT_TOPIC_PATTERN",
    "domain_of_topic",
    "product_topic",
]

AUDIT_TOPIC: Final = "mesh.audit"
DEADLETTER_TOPIC: Final = "mesh.deadletter"


#: The regular expression a service subscribes with (the client matches it against whole topic
#: names). No ``{m,n}`` here: FastStream reads braces in an address as its own path parameters.
#: :func:`domain_of_topic` applies the length limit.
PRODUCT_TOPIC_PATTERN: Final = r"mesh\.[a-z][a-z0-9_]*\.product"


def product_topic(domain: str) -> str:
    """The topic on which ``domain`` publishes its products' lifecycle events."""
    if not is_mesh_name(domain):
        raise ValueError(f"not a domain name: {domain!a} ({MESH_NAME_RULE})")
    return f"mesh.{domain}.product"


def domain_of_topic(topic: str) -> str | None:
    """The domain named by a domain's own topic (``mesh.<domain>.<kind>``), None for other topics.

    The name is returned as it appears, valid or not: the caller compares it with the domain an
    event speaks for, and anything but an exact match is a spoofed domain.
    """
    parts = topic.split(".")
    if len(parts) != 3 or parts[0] != "mesh":
        return None
    return parts[1]
