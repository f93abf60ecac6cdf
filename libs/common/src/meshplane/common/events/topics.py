"""The mesh's Kafka topics, and how a topic names the domain that may publish on it.

A domain's identity is its topic: the sales domain publishes its product lifecycle on
``mesh.sales.product`` and nowhere else, and Kafka ACLs decide who may write there. A service reads
every domain's topic of a kind by subscribing to a pattern, so a new domain needs no redeploy.
Audit events from every service go to one topic, and input that cannot be taken to another.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = [
    "AUDIT_TOPIC",
    "DEADLETTER_TOPIC",
    "DOMAIN_NAME_RE",
    "PRODUCT_TOPIC_PATTERN",
    "domain_of_topic",
    "product_topic",
]

AUDIT_TOPIC: Final = "mesh.audit"
DEADLETTER_TOPIC: Final = "mesh.deadletter"

#: Domain names are lower case in topics and events (``sales``); the mesh upper-cases them into
#: Snowflake names (``SALES``). 32 characters leaves room for the suffixes of derived role names
#: within the identifier limit.
DOMAIN_NAME_RE: Final = re.compile(r"\A[a-z][a-z0-9_]{0,31}\Z", re.ASCII)

#: The regular expression a service subscribes with (the client matches it against whole topic
#: names). No ``{m,n}`` here: FastStream reads braces in an address as its own path parameters.
#: :func:`domain_of_topic` applies the length limit.
PRODUCT_TOPIC_PATTERN: Final = r"mesh\.[a-z][a-z0-9_]*\.product"


def product_topic(domain: str) -> str:
    """The topic on which ``domain`` publishes its products' lifecycle events."""
    if not DOMAIN_NAME_RE.match(domain):
        raise ValueError(f"not a domain name: {domain!a} (lower-case letter first, then a-z 0-9 _)")
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
