"""Pure planning: (event, observed state) -> Plan. No I/O, no broker, no connector.

Names come from :mod:`meshplane.common.layout` and reach SQL only through ``quote_identifier``
/ ``qualified_name``; every value (comments, tag values, sizes, role names inside policy bodies) is
a bound ``%(name)s`` parameter. Column types are the only other text in SQL: they come from the
contract reader's closed list and are checked again here against :data:`_SQL_TYPE_RE`.

Every plan is safe to run twice: ``IF NOT EXISTS``, grants (granting what is held changes nothing),
``GRANT OWNERSHIP … COPY CURRENT GRANTS`` to the owner it already has, ``ALTER TAG … SET MASKING
POLICY … FORCE``, ``DROP ROLE IF EXISTS``. A multi-statement request stops at its first error, so no
statement may fail on a second run; statements that would (``REVOKE`` from a dropped role) are only
planned when observation says their object exists.

Ownership. The provisioner's service role creates everything (it holds the account privileges), then
hands each domain object to the domain's admin role with ``GRANT OWNERSHIP … COPY CURRENT GRANTS``
(https://docs.snowflake.com/en/sql-reference/sql/grant-ownership). The admin role is granted to the
service role, so the service keeps acting on the objects through the role hierarchy. The domain's
roles stay owned by the service role, which creates them: granting a role needs its ownership
(or MANAGE GRANTS, which the service does not have).

Product schemas are managed-access (https://docs.snowflake.com/en/user-guide/security-access-control-configure):
only the schema owner (the domain admin, so the service through it) grants on their objects,
including future grants.

Masking. Each column carries the domain's CLASSIFICATION tag; the tag carries one masking policy per
type family (https://docs.snowflake.com/en/user-guide/tag-based-masking-policies). A policy returns
the value when the session's current (primary) role *is* the domain's engineer role
(``CURRENT_ROLE()``), else masks it when the column's classification
(``SYSTEM$GET_TAG_ON_CURRENT_COLUMN``) is ``pii`` or ``restricted``. Not ``IS_ROLE_IN_SESSION``: it
follows the role hierarchy and secondary roles ("Verifies whether the specified account role is in
the currently active primary or secondary role hierarchy",
https://docs.snowflake.com/en/sql-reference/functions/is_role_in_session), so every role above the
engineer — the domain admin, the provisioner's role, SYSADMIN, ACCOUNTADMIN — would read PII in
clear. The people who administer the objects do not read PII unless they act as the domain's
engineer (``USE ROLE``), which query history records. Each domain plan also sets the policies' body
(``ALTER MASKING POLICY … SET BODY``), so a domain made by an earlier release gets the current one
(the ready marker's version changed with it, so such domains are planned again).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Protocol

from meshplane.common.errors import PermanentError
from meshplane.common.events.contract import CLASSIFICATIONS, MeshContract, OutputPort
from meshplane.common.events.contract import Column as ContractColumn
from meshplane.common.layout import (
    MASKED_TYPE_FAMILIES,
    PORT_TABLE_SUFFIX,
    READER_ROLES_OWNER,
    DomainLayout,
    ProductLayout,
    domain_comment,
    product_layout,
)
from meshplane.common.snowflake.identifiers import quote_identifier
from meshplane.common.snowflake.intents import (
    AddColumn,
    AllIn,
    Column,
    Comment,
    Database,
    DropRole,
    FutureIn,
    Grant,
    GrantRole,
    Intent,
    MaskingPolicy,
    MaskingPolicyBody,
    Object,
    Ownership,
    Revoke,
    Role,
    Schema,
    SecureView,
    Table,
    Tag,
    TagMaskingPolicies,
    TagValues,
    Warehouse,
)
from meshplane.common.snowflake.statements import ParamValue, Plan
from meshplane.provisioner.observe import Observed

__all__ = [
    "AUTO_SUSPEND_SECONDS",
    "MASKED_STRING",
    "BreakingChange",
    "ContractPlanner",
    "plan_product_created",
    "plan_product_retired",
    "plan_product_updated",
]

#: Seconds of idleness before a domain warehouse suspends itself (60 is Snowflake's billing minimum).
AUTO_SUSPEND_SECONDS: Final = 60
#: What a masked string reads as; other types read NULL.
MASKED_STRING: Final = "***MASKED***"
LIFECYCLE_VALUES: Final = ("active", "retired")
#: Table privileges the domain's engineer role holds on its products' tables.
_ENGINEER_TABLE_PRIVILEGES: Final = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE")

# The closed list of column types the contract reader produces; anything else never reaches SQL.
_SQL_TYPE_RE: Final = re.compile(
    r"\A(?:VARCHAR(?:\([1-9][0-9]{0,7}\))?|NUMBER\([1-9][0-9]?,[0-9][0-9]?\)|FLOAT|BOOLEAN|DATE"
    r"|TIMESTAMP_NTZ|TIMESTAMP_TZ|VARIANT)\Z",
    re.ASCII,
)
# VARCHAR without a length is Snowflake's maximum; SHOW reports that length (16 MB, or 128 MB
# where the larger default is enabled).
_VARCHAR_DEFAULT_LENGTHS: Final = frozenset({16_777_216, 134_217_728})


class BreakingChange(PermanentError):  # noqa: N818 - the name the handler and meshctl use
    """An update the mesh refuses: it would break the product's readers. ``reason`` says why."""


# -- helpers -------------------------------------------------------------------------------------
def _column_type(column: ContractColumn) -> str:
    if _SQL_TYPE_RE.match(column.sql_type) is None:
        raise ValueError(f"column {column.name} has a type outside the mesh's list: {column.sql_type[:40]!a}")
    return column.sql_type


def _database(d: DomainLayout) -> Object:
    return Object("DATABASE", (d.database,))


def _schema(name: tuple[str, str]) -> Object:
    return Object("SCHEMA", name)


def _to_admin(on: Object, d: DomainLayout) -> Ownership:
    return Ownership(on, d.admin_role)


# -- the domain ----------------------------------------------------------------------------------
def _masking_body(d: DomainLayout, family: str) -> tuple[str, tuple[tuple[str, ParamValue], ...]]:
    params: dict[str, ParamValue] = {
        "engineer": d.engineer_role,
        "tag": d.dotted(d.classification_tag),
        "pii": "pii",
        "restricted": "restricted",
    }
    masked = "NULL"
    if family == "STRING":
        masked = "%(masked)s"
        params["masked"] = MASKED_STRING
    body = (
        "CASE WHEN CURRENT_ROLE() = %(engineer)s THEN VAL "
        "WHEN SYSTEM$GET_TAG_ON_CURRENT_COLUMN(%(tag)s) IN (%(pii)s, %(restricted)s) "
        f"THEN {masked} ELSE VAL END"
    )
    return body, tuple(params.items())


def _domain_intents(d: DomainLayout, warehouse_size: str, service_role: str) -> list[Intent]:
    database = _database(d)
    governance = (d.database, d.governance_schema)
    warehouse = Object("WAREHOUSE", (d.warehouse,))
    managed = "Managed by Meshplane."
    out: list[Intent] = [
        # The role tree: consumer under engineer under admin under the mesh's service role.
        Role(d.admin_role, f"Domain {d.domain}: owns the domain's objects. {managed}"),
        Role(
            d.engineer_role,
            f"Domain {d.domain}: builds the domain's products; reads them unmasked. {managed}",
        ),
        Role(
            d.consumer_role,
            f"Domain {d.domain}: reads other domains' products shared to this domain. {managed}",
        ),
        GrantRole(d.consumer_role, d.engineer_role),
        GrantRole(d.engineer_role, d.admin_role),
        GrantRole(d.admin_role, service_role),
        # The database (no comment yet: the ready marker is written last).
        Database(d.database),
        _to_admin(database, d),
        Grant(("USAGE",), database, d.engineer_role),
        Schema(governance),
        _to_admin(_schema(governance), d),
        Comment(_schema(governance), f"Tags and masking policies of domain {d.domain}. {managed}"),
        # The warehouse: created suspended, so provisioning never starts it.
        Warehouse(
            d.warehouse, warehouse_size, AUTO_SUSPEND_SECONDS, f"Warehouse of domain {d.domain}. {managed}"
        ),
        _to_admin(warehouse, d),
        Grant(("USAGE",), warehouse, d.consumer_role),
    ]
    tags: list[tuple[tuple[str, str, str], tuple[str, ...] | None, str]] = [
        (d.domain_tag, None, "The data mesh domain that owns the object."),
        (d.product_tag, None, "The data product the object belongs to."),
        (d.classification_tag, CLASSIFICATIONS, "Classification of a column; pii and restricted mask."),
        (d.lifecycle_tag, LIFECYCLE_VALUES, "Lifecycle of a product version: active or retired."),
    ]
    for tag, allowed, comment in tags:
        out += [Tag(tag, comment, allowed), _to_admin(Object("TAG", tag), d)]
    # Masking policies, one per type family, all set on the classification tag.
    for family, policy in d.masking_policies:
        body, params = _masking_body(d, family)
        comment = f"Masks {family} columns classified pii or restricted outside domain {d.domain}."
        out += [
            MaskingPolicy(policy, MASKED_TYPE_FAMILIES[family], body, params, comment),
            MaskingPolicyBody(policy, body, params),
            _to_admin(Object("MASKING POLICY", policy), d),
        ]
    out += [
        TagMaskingPolicies(d.classification_tag, tuple(p for _, p in d.masking_policies)),
        TagValues(database, ((d.domain_tag, d.domain),)),
        TagValues(warehouse, ((d.domain_tag, d.domain),)),
        # Last: the marker that says the domain is complete.
        Comment(database, domain_comment(d.domain)),
    ]
    return out


# -- the product ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class _PortChange:
    added: tuple[ContractColumn, ...] = ()
    replace_view: bool = False


def _column(column: ContractColumn, *, not_null: bool) -> Column:
    return Column(column.name, _column_type(column), not_null)


def _port_intents(p: ProductLayout, port: OutputPort, change: _PortChange) -> list[Intent]:
    d = p.domain
    names = p.port(port.name)
    table = Object("TABLE", names.table)
    view = Object("VIEW", names.view)
    out: list[Intent] = [Table(names.table, tuple(_column(c, not_null=c.required) for c in port.columns))]
    # Added as nullable: a NOT NULL column cannot be added to a table that holds rows, and the
    # planner cannot see (without a warehouse) whether it does.
    out += [AddColumn(names.table, _column(column, not_null=False)) for column in change.added]
    out.append(_to_admin(table, d))
    if port.description:
        out.append(Comment(table, port.description))
    for column in port.columns:
        out.append(TagValues(table, ((d.classification_tag, column.classification),), column=column.name))
        if column.description:
            out.append(Comment(table, column.description, column=column.name))
    out += [
        SecureView(names.view, tuple(c.name for c in port.columns), names.table, replace=change.replace_view),
        _to_admin(view, d),
        Comment(view, port.description or f"Output port {port.name} of data product {p.product}."),
    ]
    return out


def _product_intents(
    contract: MeshContract, p: ProductLayout, changes: Mapping[str, _PortChange]
) -> list[Intent]:
    d = p.domain
    schema = _schema(p.schema_name)
    reader, engineer = p.reader_role, d.engineer_role
    out: list[Intent] = [
        Schema(p.schema_name),
        _to_admin(schema, d),
        Comment(schema, contract.description or f"Data product {p.product}, major version {p.major}."),
        TagValues(
            schema, ((d.domain_tag, d.domain), (d.product_tag, p.product), (d.lifecycle_tag, "active"))
        ),
        Role(reader, f"Reads data product {d.domain}.{p.product} v{p.major}. Managed by Meshplane."),
        # Handed to the role that owns every reader role, so that sharing (granted that role) may
        # grant it to consumers; the provisioner keeps acting on it through the same role.
        Ownership(Object("ROLE", (reader,)), READER_ROLES_OWNER),
        Grant(("USAGE",), _database(d), reader),
        Grant(("USAGE",), schema, reader),
        Grant(("SELECT",), FutureIn("VIEWS", p.schema_name), reader),
        Grant(("USAGE",), schema, engineer),
        Grant(_ENGINEER_TABLE_PRIVILEGES, FutureIn("TABLES", p.schema_name), engineer),
        Grant(("SELECT",), FutureIn("VIEWS", p.schema_name), engineer),
    ]
    for port in contract.output_ports:
        out += _port_intents(p, port, changes.get(port.name, _PortChange()))
    # Objects that existed before the future grants (or were replaced) get the same privileges now.
    out += [
        Grant(("SELECT",), AllIn("VIEWS", p.schema_name), reader),
        Grant(_ENGINEER_TABLE_PRIVILEGES, AllIn("TABLES", p.schema_name), engineer),
        Grant(("SELECT",), AllIn("VIEWS", p.schema_name), engineer),
    ]
    return out


def _layouts(contract: MeshContract) -> ProductLayout:
    """The product's layout, with every name and type of the contract checked before any SQL exists.

    ``read_contract`` already refuses unsafe names; this holds for a contract built another way too.
    """
    layout = product_layout(contract.domain, contract.product, contract.major)
    for port in contract.output_ports:
        layout.port(port.name)
        for column in port.columns:
            quote_identifier(column.name)
            _column_type(column)
    return layout


def _label(p: ProductLayout) -> str:
    return f"{p.domain.domain}.{p.product} v{p.major}"


def _plan(
    contract: MeshContract,
    observed: Observed,
    service_role: str,
    event: str,
    changes: Mapping[str, _PortChange],
) -> Plan:
    p = _layouts(contract)
    quote_identifier(service_role)
    intents: list[Intent] = []
    parts = []
    if not observed.domain_ready:
        intents += _domain_intents(p.domain, contract.warehouse_size, service_role)
        parts.append(f"set up domain {p.domain.domain}")
    intents += _product_intents(contract, p, changes)
    parts.append(f"provision {p.schema}")
    return Plan.of_intents(f"{event} {_label(p)}: {', then '.join(parts)}", intents)


def plan_product_created(contract: MeshContract, observed: Observed, *, service_role: str) -> Plan:
    """Everything a product needs; with the domain's setup in front when the domain is not ready."""
    return _plan(contract, observed, service_role, "product.created", {})


class ContractPlanner(Protocol):
    """The shape of :func:`plan_product_created` and :func:`plan_product_updated`."""

    def __call__(self, contract: MeshContract, observed: Observed, *, service_role: str) -> Plan: ...


# -- updates -------------------------------------------------------------------------------------
def _normal_type(text: str) -> str:
    """A column type as one comparable spelling, from SHOW COLUMNS' JSON or a type name."""
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        kind = str(data.get("type", "")).upper()
        if kind == "TEXT":
            length = data.get("length")
            return "VARCHAR" if length in _VARCHAR_DEFAULT_LENGTHS or length is None else f"VARCHAR({length})"
        if kind == "FIXED":
            return f"NUMBER({data.get('precision', 38)},{data.get('scale', 0)})"
        if kind in ("REAL", "FLOAT", "DOUBLE"):
            return "FLOAT"
        return kind
    spelled = text.strip().upper().replace(" ", "")
    match = re.fullmatch(r"VARCHAR\(([0-9]+)\)", spelled)
    if match and int(match.group(1)) in _VARCHAR_DEFAULT_LENGTHS:
        return "VARCHAR"
    return spelled


def _diff(
    p: ProductLayout, contract: MeshContract, columns: Mapping[str, Mapping[str, str]]
) -> dict[str, _PortChange]:
    wanted_tables = {p.port(port.name).table[2]: port for port in contract.output_ports}
    view_names = {p.port(port.name).view[2] for port in contract.output_ports}
    for relation in sorted(columns):
        if (
            relation.endswith(PORT_TABLE_SUFFIX)
            and relation not in wanted_tables
            and relation not in view_names
        ):
            port_name = relation[: -len(PORT_TABLE_SUFFIX)]
            raise BreakingChange(
                f"output port {port_name} of {_label(p)} is not in the contract any more; removing a port "
                f"breaks its readers: publish it as a new major version (v{p.major + 1})"
            )
    changes: dict[str, _PortChange] = {}
    for table, port in wanted_tables.items():
        existing = columns.get(table)
        if existing is None:
            continue  # a new port: created like in product.created
        declared = {c.name: c for c in port.columns}
        for name in existing:
            if name not in declared:
                raise BreakingChange(
                    f"column {port.name}.{name} of {_label(p)} was removed from the contract; removing a "
                    f"column breaks its readers: publish it as a new major version (v{p.major + 1})"
                )
        for name, column in declared.items():
            if name in existing and _normal_type(existing[name]) != _normal_type(column.sql_type):
                raise BreakingChange(
                    f"column {port.name}.{name} of {_label(p)} changes type from "
                    f"{_normal_type(existing[name])} to {column.sql_type}; changing a type breaks its "
                    f"readers: publish it as a new major version (v{p.major + 1})"
                )
        added = tuple(c for c in port.columns if c.name not in existing)
        if added:
            changes[port.name] = _PortChange(added=added, replace_view=True)
    return changes


def plan_product_updated(contract: MeshContract, observed: Observed, *, service_role: str) -> Plan:
    """Add what the contract added; refuse what would break readers (:class:`BreakingChange`).

    A schema that does not exist yet (a new major version, or an update that overtook its create)
    is planned like a create. An existing schema needs its observed columns to be compared.
    """
    p = _layouts(contract)
    if observed.product_schema_exists is False:
        return _plan(contract, observed, service_role, "product.updated", {})
    if observed.columns is None:
        raise ValueError(
            f"product.updated of {_label(p)} needs the schema's observed columns "
            "(observe the product first; ASSUME_DOMAIN_READY does not say what the tables hold)"
        )
    changes = _diff(p, contract, observed.columns)
    return _plan(contract, observed, service_role, "product.updated", changes)


# -- retirement ----------------------------------------------------------------------------------
def plan_product_retired(
    domain: str, product: str, major: int, observed: Observed, *, service_role: str
) -> Plan:
    """The reader role loses its grants and is dropped; the schema is tagged retired and kept.

    REVOKE fails on a role or schema that does not exist, so the revokes are planned only when
    observation saw both; ``DROP ROLE IF EXISTS`` (which takes the role's grants with it) always.
    The schema is tagged when it exists or was not observed (its domain is then assumed ready).
    """
    p = product_layout(domain, product, major)
    quote_identifier(service_role)
    d = p.domain
    schema = _schema(p.schema_name)
    reader = p.reader_role
    intents: list[Intent] = []
    if observed.reader_role_exists and observed.product_schema_exists:
        intents += [
            Revoke(("SELECT",), FutureIn("VIEWS", p.schema_name), reader),
            Revoke(("SELECT",), AllIn("VIEWS", p.schema_name), reader),
            Revoke(("USAGE",), schema, reader),
            Revoke(("USAGE",), _database(d), reader),
        ]
    intents.append(DropRole(reader))
    if observed.product_schema_exists is not False:
        intents.append(TagValues(schema, ((d.lifecycle_tag, "retired"),), if_exists=True))
    return Plan.of_intents(f"product.retired {_label(p)}: reader role dropped, data kept", intents)
