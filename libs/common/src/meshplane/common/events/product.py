"""Product lifecycle events that a domain publishes on ``mesh.<domain>.product``.

``created`` and ``updated`` carry the product's whole data contract in ODCS v3 form; the contract
is read into the mesh's terms (:func:`~meshplane.common.events.contract.read_contract`) while the
event is validated, so a contract the mesh cannot act on is refused at the door with the reason.
"""

from __future__ import annotations

from typing import Annotated

from open_data_contract_standard.model import OpenDataContractStandard
from pydantic import AfterValidator, Field, PrivateAttr, model_validator
from pydantic_core import PydanticCustomError

from meshplane.common.events.base import AboutOneProduct, EventData, event_type
from meshplane.common.events.contract import ContractError, MeshContract, read_contract
from meshplane.common.events.names import (
    MESH_NAME_MAX_LENGTH,
    MESH_NAME_PATTERN,
    MESH_NAME_RULE,
    reserved_domain,
)

__all__ = ["ProductContractEvent", "ProductCreated", "ProductRetired", "ProductUpdated"]

#: Error types a consumer tells apart in a ValidationError: a name that breaks the naming rule is
#: "unsafe-name" in the dead letter, any other contract problem is a "schema-error".
UNSAFE_NAME_ERROR = "unsafe_name"
CONTRACT_ERROR = "contract"


def _not_reserved(domain: str) -> str:
    if reason := reserved_domain(domain):
        raise PydanticCustomError(UNSAFE_NAME_ERROR, "{reason}", {"reason": reason})
    return domain


DomainName = Annotated[
    str,
    Field(
        pattern=MESH_NAME_PATTERN,
        max_length=MESH_NAME_MAX_LENGTH,
        description=f"domain name: {MESH_NAME_RULE}; not a reserved name (audit, catalog, meshplane…)",
    ),
    AfterValidator(_not_reserved),
]
ProductName = Annotated[
    str,
    Field(
        pattern=MESH_NAME_PATTERN,
        max_length=MESH_NAME_MAX_LENGTH,
        description=f"product name: {MESH_NAME_RULE}",
    ),
]


class ProductContractEvent(EventData):
    """An event that carries a product's data contract (ODCS v3)."""

    contract: OpenDataContractStandard = Field(description="The product's data contract, ODCS v3.")
    _mesh: MeshContract = PrivateAttr()

    @model_validator(mode="after")
    def _read_contract(self) -> ProductContractEvent:
        try:
            self._mesh = read_contract(self.contract)
        except ContractError as exc:
            kind = UNSAFE_NAME_ERROR if exc.unsafe_name else CONTRACT_ERROR
            raise PydanticCustomError(
                kind, "contract.{where}: {message}", {"where": exc.where, "message": exc.message}
            ) from None
        return self

    @property
    def mesh(self) -> MeshContract:
        """The contract in the mesh's terms: canonical names, closed-list column types."""
        return self._mesh

    @property
    def event_domain(self) -> str:
        return self._mesh.domain

    @property
    def event_key(self) -> str:
        return self._mesh.product_id


@event_type("mesh.product.created.v1")
class ProductCreated(ProductContractEvent):
    """A domain declared a new data product (or a new major version of one)."""


@event_type("mesh.product.updated.v1")
class ProductUpdated(ProductContractEvent):
    """A domain changed a product's contract: added columns, new descriptions, or a new major version."""


@event_type("mesh.product.retired.v1")
class ProductRetired(AboutOneProduct, EventData):
    """A domain retired one major version of a product: readers lose access, the data is kept."""

    domain: DomainName
    product: ProductName
    major: int = Field(
        ge=0, le=999_999, description="The major version retired (its schema is <PRODUCT>_V<major>)."
    )
    reason: str | None = Field(default=None, max_length=2000)
