"""How a catalog entry changes: pure functions of the entry as it was and what just happened.

The provisioner calls :func:`provisioned` after a product's plan ran and :func:`retired` after a
version was retired; each returns the whole new entry, which it writes under the product id.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from meshplane.common.events.catalog import CatalogColumn, CatalogEntry, CatalogPort, CatalogVersion
from meshplane.common.events.contract import MeshContract
from meshplane.common.layout import product_layout

__all__ = ["provisioned", "retired"]


def _with_version(entry: CatalogEntry | None, version: CatalogVersion, **product: Any) -> dict[str, Any]:
    versions = {v.major: v for v in (entry.versions if entry else ())}
    versions[version.major] = version
    ordered = tuple(versions[major] for major in sorted(versions))
    counts: Counter[str] = Counter(
        column.classification
        for v in ordered
        if v.lifecycle == "active"
        for port in v.ports
        for column in port.columns
    )
    return {"versions": ordered, "classifications": dict(sorted(counts.items())), **product}


def provisioned(
    entry: CatalogEntry | None, contract: MeshContract, document: dict[str, Any], *, changed_by: str
) -> CatalogEntry:
    """``entry`` after ``contract`` (published as ``document``) was provisioned: its version is active."""
    layout = product_layout(contract.domain, contract.product, contract.major)
    ports = tuple(
        CatalogPort(
            name=port.name,
            view=".".join(layout.port(port.name).view),
            columns=tuple(
                CatalogColumn(name=c.name, type=c.sql_type, classification=c.classification)
                for c in port.columns
            ),
        )
        for port in contract.output_ports
    )
    version = CatalogVersion(
        major=contract.major,
        version=contract.version,
        lifecycle="active",
        schema_name=".".join(layout.schema_name),
        reader_role=layout.reader_role,
        ports=ports,
        inputs=contract.inputs,
        contract=document,
        changed_by=changed_by,
    )
    fields = _with_version(entry, version, owner=contract.owner, description=contract.description)
    return CatalogEntry(domain=contract.domain, product=contract.product, **fields)


def retired(entry: CatalogEntry, major: int, *, changed_by: str) -> CatalogEntry:
    """``entry`` after its version ``major`` was retired (recorded even if that version was never seen)."""
    layout = product_layout(entry.domain, entry.product, major)
    known = entry.version(major)
    if known is not None:
        version = known.model_copy(update={"lifecycle": "retired", "changed_by": changed_by})
    else:
        version = CatalogVersion(
            major=major,
            version=f"{major}.0.0",
            lifecycle="retired",
            schema_name=".".join(layout.schema_name),
            reader_role=layout.reader_role,
            changed_by=changed_by,
        )
    fields = _with_version(entry, version, owner=entry.owner, description=entry.description)
    return CatalogEntry(domain=entry.domain, product=entry.product, **fields)
