"""``meshctl catalog`` and ``meshctl lineage``: the catalog read from ``mesh.catalog``, for people.

The catalog is read the way every service reads it (:class:`~meshplane.common.catalog.CatalogReader`:
the compacted topic from its start, no consumer group), then printed.
"""

from __future__ import annotations

from typing import Any

import yaml
from aiokafka.errors import KafkaError

from meshplane.common.catalog import Catalog, CatalogReader
from meshplane.common.events import CATALOG_TOPIC, CatalogEntry
from meshplane.common.settings import KafkaSettings
from meshplane.meshctl.errors import MeshctlError

__all__ = ["describe_entry", "load_catalog", "one_line", "require"]


async def load_catalog(bootstrap_servers: str, topic: str = CATALOG_TOPIC) -> Catalog:
    """Every product's current entry, read from the catalog topic."""
    reader = CatalogReader(
        KafkaSettings(bootstrap_servers=bootstrap_servers), client_id="meshctl", topic=topic
    )
    try:
        await reader.start()
    except (KafkaError, OSError) as exc:
        raise MeshctlError(f"Kafka at {bootstrap_servers} is not reachable: {exc}") from None
    finally:
        await reader.stop()
    return reader.catalog


def require(catalog: Catalog, product_id: str) -> CatalogEntry:
    entry = catalog.get(product_id)
    if entry is None:
        raise MeshctlError(
            f"{product_id} is not in the catalog of {len(catalog)} products "
            "(`meshctl catalog search` finds one)"
        )
    return entry


def one_line(entry: CatalogEntry) -> str:
    """``sales.orders  v1 active  owner sales-data-team  pii 2, internal 3  SALES.ORDERS_V1.ORDER_LINES``"""
    versions = ", ".join(f"v{v.major} {v.lifecycle}" for v in entry.versions)
    classes = (
        ", ".join(f"{name} {count}" for name, count in entry.classifications.items()) or "no active columns"
    )
    latest = entry.active[-1] if entry.active else None
    views = " ".join(port.view for port in latest.ports) if latest else "-"
    return f"{entry.product_id}  {versions}  owner {entry.owner or '-'}  {classes}  {views}"


def describe_entry(entry: CatalogEntry, *, contracts: bool) -> str:
    """The entry as YAML; the contracts themselves only when asked for."""
    document: dict[str, Any] = entry.model_dump(mode="json", exclude_none=True)
    document = {"product_id": entry.product_id, **document}
    if not contracts:
        for version in document["versions"]:
            version.pop("contract", None)
    text: str = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
    return text
