"""A data product's contract: the ODCS v3 document a product event carries, read into the mesh's terms.

Publishers describe a product with the Open Data Contract Standard (ODCS v3, the
``open-data-contract-standard`` models). ODCS is deliberately open — nearly every field is optional
and free text — so :func:`read_contract` is where the mesh says what it needs from one and refuses
what it cannot safely act on, before any SQL exists:

* ``apiVersion``: an ODCS v3 version (``v3.0.0`` … ``v3.2.0``), and a document of that version's form:
  ``team`` as an object (with a ``name``) appeared in v3.1.0, so a v3.0.x contract lists its team
  members, and v3.0.x requires ``status`` (the official schemas of each version say so);
* ``domain`` and ``dataProduct``: lower-case names (:mod:`meshplane.common.events.names`);
* ``version``: semantic version ``MAJOR.MINOR.PATCH`` — the major version names the product's schema;
* ``id``: the contract's id; ``team``: the owner (a team name, or the member whose role is ``owner``);
* ``schema``: one object per output port (a table), each with named ``properties`` (columns) whose
  type is one the mesh knows (``physicalType``, or else ``logicalType``) and whose
  ``classification`` is ``public``, ``internal``, ``pii`` or ``restricted`` (``internal`` if absent);
* ``customProperties``: ``monthlyCreditBudget`` (credits, > 0, at most a million), ``warehouseSize``
  (``XSMALL`` … ``XLARGE``, ``XSMALL`` if absent) and ``inputs``, the products this one is built from
  (a list of product ids ``<domain>.<product>``: the product's lineage, checked against the catalog
  by the provisioner);
* ``slaProperties``: kept as given, for the quality service.

Column types are written into SQL text, so they come from a closed list, never from the contract's
spelling. Table and column names must pass the mesh's naming rule
(:mod:`meshplane.common.snowflake.identifiers`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

from open_data_contract_standard.model import (
    OpenDataContractStandard,
    SchemaObject,
    SchemaProperty,
    Team,
)

from meshplane.common.events.names import MESH_NAME_RULE, is_mesh_name, reserved_domain
from meshplane.common.snowflake.identifiers import (
    IDENTIFIER_MAX_LENGTH,
    UnsafeIdentifierError,
    canonical_identifier,
)

__all__ = [
    "CLASSIFICATIONS",
    "MASKED_CLASSIFICATIONS",
    "WAREHOUSE_SIZES",
    "Classification",
    "Column",
    "ContractError",
    "MeshContract",
    "OutputPort",
    "SlaProperty",
    "TypeFamily",
    "read_contract",
]

Classification = Literal["public", "internal", "pii", "restricted"]
CLASSIFICATIONS: Final[tuple[Classification, ...]] = ("public", "internal", "pii", "restricted")
#: Columns of these classifications read masked to anyone outside the owning domain.
MASKED_CLASSIFICATIONS: Final[frozenset[str]] = frozenset({"pii", "restricted"})

WarehouseSize = Literal["XSMALL", "SMALL", "MEDIUM", "LARGE", "XLARGE"]
WAREHOUSE_SIZES: Final[tuple[WarehouseSize, ...]] = ("XSMALL", "SMALL", "MEDIUM", "LARGE", "XLARGE")

#: The family of a column type decides which masking policy covers it: Snowflake attaches at most
#: one policy per data type to a tag, and a policy's signature names one type.
TypeFamily = Literal[
    "STRING", "NUMBER", "FLOAT", "BOOLEAN", "DATE", "TIMESTAMP_NTZ", "TIMESTAMP_TZ", "VARIANT"
]

_SEMVER_RE: Final = re.compile(r"\A(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})\Z", re.ASCII)

# Snowflake's data types, as the mesh spells them in SQL (the canonical spelling on the right).
# https://docs.snowflake.com/en/sql-reference/intro-summary-data-types
_SIMPLE_TYPES: Final[dict[str, tuple[str, TypeFamily]]] = {
    "STRING": ("VARCHAR", "STRING"),
    "TEXT": ("VARCHAR", "STRING"),
    "VARCHAR": ("VARCHAR", "STRING"),
    "NUMBER": ("NUMBER(38,0)", "NUMBER"),
    "INT": ("NUMBER(38,0)", "NUMBER"),
    "INTEGER": ("NUMBER(38,0)", "NUMBER"),
    "BIGINT": ("NUMBER(38,0)", "NUMBER"),
    "FLOAT": ("FLOAT", "FLOAT"),
    "DOUBLE": ("FLOAT", "FLOAT"),
    "BOOLEAN": ("BOOLEAN", "BOOLEAN"),
    "DATE": ("DATE", "DATE"),
    "TIMESTAMP": ("TIMESTAMP_NTZ", "TIMESTAMP_NTZ"),
    "TIMESTAMP_NTZ": ("TIMESTAMP_NTZ", "TIMESTAMP_NTZ"),
    "TIMESTAMP_TZ": ("TIMESTAMP_TZ", "TIMESTAMP_TZ"),
    "VARIANT": ("VARIANT", "VARIANT"),
}
_VARCHAR_RE: Final = re.compile(r"\A(?:VARCHAR|STRING|TEXT)\s*\(\s*([1-9][0-9]{0,7})\s*\)\Z", re.ASCII)
_NUMBER_RE: Final = re.compile(
    r"\A(?:NUMBER|DECIMAL|NUMERIC)\s*\(\s*([1-9][0-9]?)\s*(?:,\s*([0-9][0-9]?)\s*)?\)\Z", re.ASCII
)
# ODCS logical types, for a column that gives no physical type.
_LOGICAL_TYPES: Final[dict[str, str]] = {
    "string": "VARCHAR",
    "integer": "NUMBER",
    "number": "FLOAT",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP_NTZ",
    "object": "VARIANT",
    "array": "VARIANT",
}
_VARCHAR_MAX: Final = 16_777_216
#: The largest monthly budget a contract may ask for. A million credits a month for one product is
#: beyond any real account's spend; anything above it is a typo or an attempt to switch the guard off.
MAX_MONTHLY_CREDITS: Final = 1_000_000
#: The ODCS versions the mesh reads (``open-data-contract-standard``'s models are v3.2.0, which reads
#: the earlier v3 forms too); v3.0.x differs in the form of ``team`` and in requiring ``status``.
ODCS_VERSIONS: Final = ("v3.0.0", "v3.0.1", "v3.0.2", "v3.1.0", "v3.2.0")
_ODCS_V3_0: Final = frozenset({"v3.0.0", "v3.0.1", "v3.0.2"})
#: A product built from more inputs than this is not a product but a warehouse dump.
MAX_INPUTS: Final = 100


class ContractError(ValueError):
    """A contract the mesh cannot act on. ``unsafe_name`` is True when a name broke the naming rule."""

    def __init__(self, where: str, message: str, *, unsafe_name: bool = False) -> None:
        self.where = where
        self.message = message
        self.unsafe_name = unsafe_name
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class Column:
    name: str  # canonical (upper case), safe to quote
    sql_type: str  # from the closed list above, never the contract's own text
    family: TypeFamily
    classification: Classification
    description: str | None
    required: bool

    @property
    def masked(self) -> bool:
        return self.classification in MASKED_CLASSIFICATIONS


@dataclass(frozen=True)
class OutputPort:
    name: str  # canonical table name
    description: str | None
    columns: tuple[Column, ...]


@dataclass(frozen=True)
class SlaProperty:
    property: str
    value: str | float | int | bool | None
    unit: str | None
    element: str | None


@dataclass(frozen=True)
class MeshContract:
    contract_id: str
    domain: str  # lower case, as in topics
    product: str  # lower case
    version: str
    owner: str
    description: str | None
    output_ports: tuple[OutputPort, ...]
    sla: tuple[SlaProperty, ...]
    monthly_credit_budget: float
    warehouse_size: WarehouseSize
    inputs: tuple[str, ...] = ()

    @property
    def major(self) -> int:
        return int(self.version.split(".", 1)[0])

    @property
    def product_id(self) -> str:
        """The product's id across the mesh, and the Kafka key of all its events."""
        return f"{self.domain}.{self.product}"


def sql_type_of(physical: str | None, logical: str | None, where: str) -> tuple[str, TypeFamily]:
    """Map a column's declared type onto the closed list of Snowflake types the mesh writes."""
    if physical is not None:
        spelled = physical.strip().upper()
        if spelled in _SIMPLE_TYPES:
            return _SIMPLE_TYPES[spelled]
        if match := _VARCHAR_RE.match(spelled):
            length = int(match.group(1))
            if length > _VARCHAR_MAX:
                raise ContractError(where, f"VARCHAR length {length} is above Snowflake's {_VARCHAR_MAX}")
            return f"VARCHAR({length})", "STRING"
        if match := _NUMBER_RE.match(spelled):
            precision, scale = int(match.group(1)), int(match.group(2) or 0)
            if precision > 38 or scale > precision:
                raise ContractError(where, f"NUMBER({precision},{scale}) is outside Snowflake's limits")
            return f"NUMBER({precision},{scale})", "NUMBER"
        raise ContractError(where, f"physicalType {physical[:40]!a} is not a type the mesh knows")
    if logical is not None and logical in _LOGICAL_TYPES:
        return _SIMPLE_TYPES[_LOGICAL_TYPES[logical]]
    raise ContractError(where, "a column needs a physicalType or a logicalType the mesh knows")


def _name(value: str | None, where: str) -> str:
    if value is None:
        raise ContractError(where, "a name is required")
    try:
        return canonical_identifier(value)
    except UnsafeIdentifierError as exc:
        raise ContractError(where, str(exc), unsafe_name=True) from None


def _column(prop: SchemaProperty, where: str) -> Column:
    name = _name(prop.name, f"{where}.name")
    classification = prop.classification or "internal"
    if classification not in CLASSIFICATIONS:
        raise ContractError(
            f"{where}.classification",
            f"{classification[:40]!a} is not one of {', '.join(CLASSIFICATIONS)}",
        )
    sql_type, family = sql_type_of(prop.physicalType, prop.logicalType, f"{where}.physicalType")
    return Column(
        name=name,
        sql_type=sql_type,
        family=family,
        classification=classification,  # checked against CLASSIFICATIONS
        description=prop.description,
        required=bool(prop.required),
    )


#: A port's table is named ``<PORT>_DATA`` beside its view ``<PORT>`` (the provisioner's layout), so a
#: port name leaves room for that suffix within the mesh's identifier limit.
PORT_NAME_MAX_LENGTH: Final = IDENTIFIER_MAX_LENGTH - len("_DATA")


def _port(obj: SchemaObject, where: str) -> OutputPort:
    name = _name(obj.physicalName or obj.name, f"{where}.name")
    if len(name) > PORT_NAME_MAX_LENGTH:
        raise ContractError(
            f"{where}.name",
            f"an output port name has at most {PORT_NAME_MAX_LENGTH} characters (room for the derived "
            f"table name <PORT>_DATA), got {len(name)}",
            unsafe_name=True,
        )
    if not obj.properties:
        raise ContractError(f"{where}.properties", "an output port needs at least one column")
    columns = tuple(_column(prop, f"{where}.properties[{i}]") for i, prop in enumerate(obj.properties))
    seen: set[str] = set()
    for column in columns:
        if column.name in seen:
            raise ContractError(f"{where}.properties", f"column {column.name} appears twice")
        seen.add(column.name)
    return OutputPort(name=name, description=obj.description, columns=columns)


def _owner(odcs: OpenDataContractStandard) -> str:
    team = odcs.team
    if isinstance(team, Team) and team.name:
        return team.name
    if isinstance(team, list):
        for member in team:
            if (member.role or "").lower() == "owner" and (member.username or member.name):
                return (member.username or member.name) or ""
    raise ContractError("team", "the contract must name its owner (team.name, or a member with role owner)")


def _custom(odcs: OpenDataContractStandard, key: str) -> object:
    for prop in odcs.customProperties or ():
        if prop.property == key:
            return prop.value
    return None


def _inputs(odcs: OpenDataContractStandard, own_id: str) -> tuple[str, ...]:
    where = "customProperties.inputs"
    value = _custom(odcs, "inputs")
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > MAX_INPUTS:
        raise ContractError(
            where, f"a list of at most {MAX_INPUTS} product ids <domain>.<product> is expected"
        )
    inputs: list[str] = []
    for position, item in enumerate(value):
        parts = item.split(".") if isinstance(item, str) else []
        if len(parts) != 2 or not all(is_mesh_name(part) for part in parts) or reserved_domain(parts[0]):
            raise ContractError(
                f"{where}[{position}]",
                f"{str(item)[:80]!a} is not a product id <domain>.<product> ({MESH_NAME_RULE})",
                unsafe_name=True,
            )
        if item == own_id:
            raise ContractError(f"{where}[{position}]", "a product cannot be built from itself")
        if item in inputs:
            raise ContractError(f"{where}[{position}]", f"{item} is listed twice")
        inputs.append(item)
    return tuple(inputs)


def _check_version(odcs: OpenDataContractStandard) -> None:
    declared = odcs.apiVersion
    if declared not in ODCS_VERSIONS:
        raise ContractError(
            "apiVersion",
            f"{str(declared)[:40]!a} is not an ODCS v3 version the mesh reads ({', '.join(ODCS_VERSIONS)})",
        )
    if declared in _ODCS_V3_0:
        if isinstance(odcs.team, Team):
            raise ContractError(
                "team",
                f"team as an object is ODCS v3.1.0 and later, but the contract declares {declared}: declare "
                "apiVersion v3.1.0 or later, or list the team's members",
            )
        if not odcs.status:
            raise ContractError("status", f"ODCS {declared} requires a status")


def read_contract(odcs: OpenDataContractStandard) -> MeshContract:
    """Read an ODCS contract into the mesh's terms, or raise :class:`ContractError` saying why not."""
    _check_version(odcs)
    domain, product = odcs.domain, odcs.dataProduct
    if not domain or not is_mesh_name(domain):
        raise ContractError(
            "domain",
            f"{(domain or '')[:40]!a} is not a domain name ({MESH_NAME_RULE})",
            unsafe_name=bool(domain),
        )
    if reason := reserved_domain(domain):
        raise ContractError("domain", reason, unsafe_name=True)
    if not product or not is_mesh_name(product):
        raise ContractError(
            "dataProduct",
            f"{(product or '')[:40]!a} is not a product name ({MESH_NAME_RULE})",
            unsafe_name=bool(product),
        )
    if not odcs.version or not _SEMVER_RE.match(odcs.version):
        raise ContractError("version", f"{(odcs.version or '')[:40]!a} is not a MAJOR.MINOR.PATCH version")
    if not odcs.id:
        raise ContractError("id", "the contract needs an id")
    if not odcs.schema_:
        raise ContractError("schema", "a data product needs at least one output port")
    ports = tuple(_port(obj, f"schema[{i}]") for i, obj in enumerate(odcs.schema_))
    if len({port.name for port in ports}) != len(ports):
        raise ContractError("schema", "two output ports have the same name")

    budget = _custom(odcs, "monthlyCreditBudget")
    if isinstance(budget, bool) or not isinstance(budget, int | float) or not budget > 0:
        raise ContractError(
            "customProperties.monthlyCreditBudget", "a positive number of credits is required"
        )
    if not budget <= MAX_MONTHLY_CREDITS:
        raise ContractError(
            "customProperties.monthlyCreditBudget",
            f"{budget:g} credits a month is beyond any real account; "
            f"the mesh allows at most {MAX_MONTHLY_CREDITS:,}",
        )
    size = _custom(odcs, "warehouseSize") or "XSMALL"
    if size not in WAREHOUSE_SIZES:
        raise ContractError(
            "customProperties.warehouseSize", f"{str(size)[:40]!a} is not one of {WAREHOUSE_SIZES}"
        )

    return MeshContract(
        contract_id=odcs.id,
        domain=domain,
        product=product,
        version=odcs.version,
        owner=_owner(odcs),
        description=odcs.description.purpose if odcs.description else None,
        output_ports=ports,
        sla=tuple(
            SlaProperty(property=p.property or "", value=p.value, unit=p.unit, element=p.element)
            for p in odcs.slaProperties or ()
        ),
        monthly_credit_budget=float(budget),
        warehouse_size=size,  # checked against WAREHOUSE_SIZES
        inputs=_inputs(odcs, f"{domain}.{product}"),
    )
