"""The mesh's Kafka topics, and how a topic names the domain that may publish on it.

A domain's identity is its topic: the sales domain publishes its product lifecycle on
``mesh.sales.product`` and nowhere else, and Kafka ACLs decide who may write there. Every domain
topic is ``mesh.<domain>.<kind>``: :func:`topic` names one, :func:`topic_pattern` is the regular
expression a service subscribes with, so a new domain needs no redeploy. Audit events from every
service go to one topic, and input that cannot be taken to another.
"""

from __future__ import annotations

import re
from typing import Final

from meshplane.common.events.names import MESH_NAME_RULE, is_mesh_name, reserved_domain

__all__ = [
    "ANY_DOMAIN",
    "AUDIT_TOPIC",
    "CATALOG_TOPIC",
    "DEADLETTER_TOPIC",
    "DOMAIN_TOPIC_KINDS",
    "MESH_TOPICS",
    "SHARING_LEDGER_TOPIC",
    "check_domain_pattern",
    "domain_of_topic",
    "domain_topic",
    "domain_topic_pattern",
]

AUDIT_TOPIC: Final = "mesh.audit"
DEADLETTER_TOPIC: Final = "mesh.deadletter"
#: Every product's current descriptor, keyed by product id; compacted, written by the provisioner.
CATALOG_TOPIC: Final = "mesh.catalog"
#: Sharing's state, one whole record per product, keyed by product id; compacted, written by sharing.
SHARING_LEDGER_TOPIC: Final = "mesh.sharing-ledger"
#: The topics the mesh itself owns (``mesh.<name>``); no domain may take one of these names.
MESH_TOPICS: Final = frozenset({AUDIT_TOPIC, DEADLETTER_TOPIC, CATALOG_TOPIC, SHARING_LEDGER_TOPIC})

#: The kinds of domain topic, ``mesh.<domain>.<kind>``. A new kind is added here with its events.
DOMAIN_TOPIC_KINDS: Final = frozenset({"product", "access"})

#: Every domain name, as a regular expression over the name (the length limit is applied by
#: :func:`domain_of_topic`). No ``{m,n}``: FastStream reads braces in an address as its own path
#: parameters.
ANY_DOMAIN: Final = "[a-z][a-z0-9_]*"


def _kind(kind: str) -> str:
    if kind not in DOMAIN_TOPIC_KINDS:
        raise ValueError(
            f"not a kind of domain topic: {kind!a} (one of {', '.join(sorted(DOMAIN_TOPIC_KINDS))})"
        )
    return kind


def domain_topic(domain: str, kind: str) -> str:
    """The topic of ``kind`` on which ``domain`` publishes: ``mesh.<domain>.<kind>``."""
    if not is_mesh_name(domain):
        raise ValueError(f"not a domain name: {domain!a} ({MESH_NAME_RULE})")
    if reason := reserved_domain(domain):
        raise ValueError(f"not a domain name: {reason}")
    return f"mesh.{domain}.{_kind(kind)}"


def check_domain_pattern(domains: str) -> str:
    """``domains`` if it is a usable regular expression over domain names; ValueError otherwise."""
    try:
        re.compile(domains)
    except re.error as exc:
        raise ValueError(f"not a regular expression: {domains!a} ({exc})") from None
    if "{" in domains:
        raise ValueError("no braces: FastStream reads {name} in a topic pattern as a path parameter")
    return domains


def domain_topic_pattern(kind: str, domains: str = ANY_DOMAIN) -> str:
    """The pattern a service subscribes with to every ``kind`` topic of the domains ``domains`` matches.

    ``domains`` is a regular expression over domain names (every domain by default); the Kafka
    client matches the whole pattern against whole topic names.
    """
    return rf"mesh\.(?:{check_domain_pattern(domains)})\.{_kind(kind)}"


def domain_of_topic(topic: str) -> str | None:
    """The domain named by a domain's own topic (``mesh.<domain>.<kind>``), None for other topics.

    The name is returned as it appears, valid or not: the caller compares it with the domain an
    event speaks for, and anything but an exact match is a spoofed domain.
    """
    parts = topic.split(".")
    if len(parts) != 3 or parts[0] != "mesh":
        return None
    return parts[1]
