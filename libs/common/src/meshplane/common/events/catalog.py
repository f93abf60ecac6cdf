"""The catalog's record: every product's current descriptor, on the compacted topic ``mesh.catalog``.

The provisioner is the one writer: after each product event it provisioned or retired, it writes
the product's whole descriptor under the product id, in the same batch as the audit event and
before the input's offset is committed. Kafka keeps the latest record per key, so reading the topic
from its start gives every product's current state (:mod:`meshplane.common.catalog`).

A descriptor holds, per major version, the contract as read, its Snowflake names and its lifecycle
(``active`` / ``retired``); and for the product, its owner, description, a classification summary of
its active versions, and the products it is built from (lineage).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from meshplane.common.events.base import AboutOneProduct, EventData, EventPart, event_type
from meshplane.common.events.contract import Classification

__all__ = ["CatalogColumn", "CatalogEntry", "CatalogPort", "CatalogVersion", "Lifecycle"]

Lifecycle = Literal["active", "retired"]


class CatalogColumn(EventPart):
    name: str
    type: str = Field(description="The Snowflake type the mesh created it with.")
    classification: Classification


class CatalogPort(EventPart):
    name: str
    view: str = Field(description="What readers query: DATABASE.SCHEMA.PORT.")
    columns: tuple[CatalogColumn, ...]


class CatalogVersion(EventPart):
    major: int
    version: str = Field(description="The contract's MAJOR.MINOR.PATCH version last provisioned.")
    lifecycle: Lifecycle
    schema_name: str = Field(description="DATABASE.SCHEMA of this major version.")
    reader_role: str
    ports: tuple[CatalogPort, ...] = ()
    inputs: tuple[str, ...] = Field(default=(), description="Products this version is built from.")
    contract: dict[str, Any] | None = Field(
        default=None, description="The ODCS contract as published (None for a version only seen retired)."
    )
    changed_by: str = Field(description="The id of the event that last changed this version.")


@event_type("mesh.catalog.product.v1")
class CatalogEntry(AboutOneProduct, EventData):
    """A data product as the mesh knows it now: its versions, names, lifecycle, owner and lineage."""

    domain: str
    product: str
    owner: str | None = None
    description: str | None = None
    versions: tuple[CatalogVersion, ...] = Field(description="Every major version, lowest first.")
    classifications: dict[str, int] = Field(
        default_factory=dict,
        description="Columns per classification over the active versions' ports.",
    )

    @property
    def active(self) -> tuple[CatalogVersion, ...]:
        return tuple(v for v in self.versions if v.lifecycle == "active")

    @property
    def inputs(self) -> tuple[str, ...]:
        """The products the active versions are built from (lineage upstream), in order, once each."""
        return tuple(dict.fromkeys(i for v in self.active for i in v.inputs))

    def version(self, major: int) -> CatalogVersion | None:
        return next((v for v in self.versions if v.major == major), None)
