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
the value when the session has the domain's engineer role (``IS_ROLE_IN_SESSION``), else masks it
when the column's classification (``SYSTEM$GET_TAG_ON_CURRENT_COLUMN``) is ``pii`` or ``restricted``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from meshplane.common.errors import PermanentError
from meshplane.common.events.contract import (
    CLASSIFICATIONS,
    Column,
    MeshContract,
    OutputPort,
)
from meshplane.common.layout import (
    MASKED_TYPE_FAMILIES,
    PORT_TABLE_SUFFIX,
    DomainLayout,
    ProductLayout,
    domain_comment,
    product_layout,
)
from meshplane.common.snowflake.identifiers import qualified_name, quote_identifier
from meshplane.common.snowflake.statements import ParamValue, Plan, Statement
from meshplane.provisioner.observe import Observed

__all__ = [
    "AUTO_SUSPEND_SECONDS",
    "MASKED_STRING",
    "BreakingChange",
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
_ENGINEER_TABLE_PRIVILEGES: Final = "SELECT, INSERT, UPDATE, DELETE, TRUNCATE"

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
def _s(sql: str, params: Mapping[str, ParamValue] | None = None) -> Statement:
    return Statement(sql, dict(params or {}))


def _q(name: str) -> str:
    return quote_identifier(name)


def _qn(*parts: str) -> str:
    return qualified_name(*parts)


def _column_type(column: Column) -> str:
    if _SQL_TYPE_RE.match(column.sql_type) is None:
        raise ValueError(f"column {column.name} has a type outside the mesh's list: {column.sql_type[:40]!a}")
    return column.sql_type


def _give_to_admin(kind: str, name: str, d: DomainLayout) -> Statement:
    return _s(f"GRANT OWNERSHIP ON {kind} {name} TO ROLE {_q(d.admin_role)} COPY CURRENT GRANTS")


# -- the domain ----------------------------------------------------------------------------------
def _masking_body(d: DomainLayout, family: str) -> tuple[str, dict[str, ParamValue]]:
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
        "CASE WHEN IS_ROLE_IN_SESSION(%(engineer)s) THEN VAL "
        "WHEN SYSTEM$GET_TAG_ON_CURRENT_COLUMN(%(tag)s) IN (%(pii)s, %(restricted)s) "
        f"THEN {masked} ELSE VAL END"
    )
    return body, params


def _domain_statements(d: DomainLayout, warehouse_size: str, service_role: str) -> list[Statement]:
    db = _q(d.database)
    wh = _q(d.warehouse)
    admin, engineer, consumer = _q(d.admin_role), _q(d.engineer_role), _q(d.consumer_role)
    governance = _qn(d.database, d.governance_schema)
    out: list[Statement] = []
    # The role tree: consumer under engineer under admin under the mesh's service role.
    for role, what in (
        (admin, "owns the domain's objects"),
        (engineer, "builds the domain's products; reads them unmasked"),
        (consumer, "reads other domains' products shared to this domain"),
    ):
        out.append(
            _s(
                f"CREATE ROLE IF NOT EXISTS {role} COMMENT = %(comment)s",
                {"comment": f"Domain {d.domain}: {what}. Managed by Meshplane."},
            )
        )
    out.append(_s(f"GRANT ROLE {consumer} TO ROLE {engineer}"))
    out.append(_s(f"GRANT ROLE {engineer} TO ROLE {admin}"))
    out.append(_s(f"GRANT ROLE {admin} TO ROLE {_q(service_role)}"))
    # The database (no comment yet: the ready marker is written last).
    out.append(_s(f"CREATE DATABASE IF NOT EXISTS {db}"))
    out.append(_give_to_admin("DATABASE", db, d))
    out.append(_s(f"GRANT USAGE ON DATABASE {db} TO ROLE {engineer}"))
    out.append(_s(f"CREATE SCHEMA IF NOT EXISTS {governance} WITH MANAGED ACCESS"))
    out.append(_give_to_admin("SCHEMA", governance, d))
    out.append(
        _s(
            f"COMMENT ON SCHEMA {governance} IS %(comment)s",
            {"comment": f"Tags and masking policies of domain {d.domain}. Managed by Meshplane."},
        )
    )
    # The warehouse: created suspended, so provisioning never starts it.
    out.append(
        _s(
            f"CREATE WAREHOUSE IF NOT EXISTS {wh} WAREHOUSE_SIZE = %(size)s "
            "AUTO_SUSPEND = %(auto_suspend)s AUTO_RESUME = TRUE INITIALLY_SUSPENDED = TRUE "
            "COMMENT = %(comment)s",
            {
                "size": warehouse_size,
                "auto_suspend": AUTO_SUSPEND_SECONDS,
                "comment": f"Warehouse of domain {d.domain}. Managed by Meshplane.",
            },
        )
    )
    out.append(_give_to_admin("WAREHOUSE", wh, d))
    out.append(_s(f"GRANT USAGE ON WAREHOUSE {wh} TO ROLE {consumer}"))
    # Tags.
    tag_specs: list[tuple[tuple[str, str, str], tuple[str, ...] | None, str]] = [
        (d.domain_tag, None, "The data mesh domain that owns the object."),
        (d.product_tag, None, "The data product the object belongs to."),
        (d.classification_tag, CLASSIFICATIONS, "Classification of a column; pii and restricted mask."),
        (d.lifecycle_tag, LIFECYCLE_VALUES, "Lifecycle of a product version: active or retired."),
    ]
    for tag, allowed, comment in tag_specs:
        params: dict[str, ParamValue] = {"comment": comment}
        allowed_sql = ""
        if allowed is not None:
            names = [f"v{i}" for i in range(len(allowed))]
            allowed_sql = " ALLOWED_VALUES " + ", ".join(f"%({n})s" for n in names)
            params.update(zip(names, allowed, strict=True))
        out.append(_s(f"CREATE TAG IF NOT EXISTS {_qn(*tag)}{allowed_sql} COMMENT = %(comment)s", params))
        out.append(_give_to_admin("TAG", _qn(*tag), d))
    # Masking policies, one per type family, all set on the classification tag.
    for family, policy in d.masking_policies:
        signature = MASKED_TYPE_FAMILIES[family]
        body, params = _masking_body(d, family)
        params["comment"] = f"Masks {family} columns classified pii or restricted outside domain {d.domain}."
        out.append(
            _s(
                f"CREATE MASKING POLICY IF NOT EXISTS {_qn(*policy)} AS (VAL {signature}) "
                f"RETURNS {signature} -> {body} COMMENT = %(comment)s",
                params,
            )
        )
        out.append(_give_to_admin("MASKING POLICY", _qn(*policy), d))
    policies = ", ".join(f"MASKING POLICY {_qn(*p)}" for _, p in d.masking_policies)
    out.append(_s(f"ALTER TAG {_qn(*d.classification_tag)} SET {policies} FORCE"))
    out.append(_s(f"ALTER DATABASE {db} SET TAG {_qn(*d.domain_tag)} = %(domain)s", {"domain": d.domain}))
    out.append(_s(f"ALTER WAREHOUSE {wh} SET TAG {_qn(*d.domain_tag)} = %(domain)s", {"domain": d.domain}))
    # Last: the marker that says the domain is complete.
    out.append(_s(f"ALTER DATABASE {db} SET COMMENT = %(comment)s", {"comment": domain_comment(d.domain)}))
    return out


# -- the product ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class _PortChange:
    added: tuple[Column, ...] = ()
    replace_view: bool = False


def _column_sql(column: Column, *, not_null: bool) -> str:
    return f"{_q(column.name)} {_column_type(column)}" + (" NOT NULL" if not_null else "")


def _port_statements(p: ProductLayout, port: OutputPort, change: _PortChange) -> list[Statement]:
    d = p.domain
    names = p.port(port.name)
    table, view = _qn(*names.table), _qn(*names.view)
    out: list[Statement] = []
    columns = ", ".join(_column_sql(c, not_null=c.required) for c in port.columns)
    out.append(_s(f"CREATE TABLE IF NOT EXISTS {table} ({columns})"))
    for column in change.added:
        # Added as nullable: a NOT NULL column cannot be added to a table that holds rows, and
        # the planner cannot see (without a warehouse) whether it does.
        out.append(_s(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {_column_sql(column, not_null=False)}"))
    out.append(_give_to_admin("TABLE", table, d))
    if port.description:
        out.append(_s(f"COMMENT ON TABLE {table} IS %(comment)s", {"comment": port.description}))
    for column in port.columns:
        out.append(
            _s(
                f"ALTER TABLE {table} MODIFY COLUMN {_q(column.name)} "
                f"SET TAG {_qn(*d.classification_tag)} = %(classification)s",
                {"classification": column.classification},
            )
        )
        if column.description:
            out.append(
                _s(
                    f"COMMENT ON COLUMN {_qn(*names.table)}.{_q(column.name)} IS %(comment)s",
                    {"comment": column.description},
                )
            )
    select = ", ".join(_q(c.name) for c in port.columns)
    if change.replace_view:
        # COPY GRANTS keeps the readers' SELECT on the replaced view
        # (https://docs.snowflake.com/en/sql-reference/sql/create-view , COPY GRANTS).
        out.append(_s(f"CREATE OR REPLACE SECURE VIEW {view} COPY GRANTS AS SELECT {select} FROM {table}"))
    else:
        out.append(_s(f"CREATE SECURE VIEW IF NOT EXISTS {view} AS SELECT {select} FROM {table}"))
    out.append(_give_to_admin("VIEW", view, d))
    view_comment = port.description or f"Output port {port.name} of data product {p.product}."
    out.append(_s(f"COMMENT ON VIEW {view} IS %(comment)s", {"comment": view_comment}))
    return out


def _product_statements(
    contract: MeshContract, p: ProductLayout, changes: Mapping[str, _PortChange]
) -> list[Statement]:
    d = p.domain
    schema = _qn(*p.schema_name)
    reader, engineer = _q(p.reader_role), _q(d.engineer_role)
    out: list[Statement] = []
    out.append(_s(f"CREATE SCHEMA IF NOT EXISTS {schema} WITH MANAGED ACCESS"))
    out.append(_give_to_admin("SCHEMA", schema, d))
    schema_comment = contract.description or f"Data product {p.product}, major version {p.major}."
    out.append(_s(f"COMMENT ON SCHEMA {schema} IS %(comment)s", {"comment": schema_comment}))
    out.append(
        _s(
            f"ALTER SCHEMA {schema} SET TAG {_qn(*d.domain_tag)} = %(domain)s, "
            f"{_qn(*d.product_tag)} = %(product)s, {_qn(*d.lifecycle_tag)} = %(lifecycle)s",
            {"domain": d.domain, "product": p.product, "lifecycle": "active"},
        )
    )
    out.append(
        _s(
            f"CREATE ROLE IF NOT EXISTS {reader} COMMENT = %(comment)s",
            {"comment": f"Reads data product {d.domain}.{p.product} v{p.major}. Managed by Meshplane."},
        )
    )
    out.append(_s(f"GRANT USAGE ON DATABASE {_q(d.database)} TO ROLE {reader}"))
    out.append(_s(f"GRANT USAGE ON SCHEMA {schema} TO ROLE {reader}"))
    out.append(_s(f"GRANT SELECT ON FUTURE VIEWS IN SCHEMA {schema} TO ROLE {reader}"))
    out.append(_s(f"GRANT USAGE ON SCHEMA {schema} TO ROLE {engineer}"))
    out.append(
        _s(f"GRANT {_ENGINEER_TABLE_PRIVILEGES} ON FUTURE TABLES IN SCHEMA {schema} TO ROLE {engineer}")
    )
    out.append(_s(f"GRANT SELECT ON FUTURE VIEWS IN SCHEMA {schema} TO ROLE {engineer}"))
    for port in contract.output_ports:
        out.extend(_port_statements(p, port, changes.get(port.name, _PortChange())))
    # Objects that existed before the future grants (or were replaced) get the same privileges now.
    out.append(_s(f"GRANT SELECT ON ALL VIEWS IN SCHEMA {schema} TO ROLE {reader}"))
    out.append(_s(f"GRANT {_ENGINEER_TABLE_PRIVILEGES} ON ALL TABLES IN SCHEMA {schema} TO ROLE {engineer}"))
    out.append(_s(f"GRANT SELECT ON ALL VIEWS IN SCHEMA {schema} TO ROLE {engineer}"))
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
    statements: list[Statement] = []
    parts = []
    if not observed.domain_ready:
        statements.extend(_domain_statements(p.domain, contract.warehouse_size, service_role))
        parts.append(f"set up domain {p.domain.domain}")
    statements.extend(_product_statements(contract, p, changes))
    parts.append(f"provision {p.schema}")
    return Plan(f"{event} {_label(p)}: {', then '.join(parts)}", tuple(statements))


def plan_product_created(contract: MeshContract, observed: Observed, *, service_role: str) -> Plan:
    """Everything a product needs; with the domain's setup in front when the domain is not ready."""
    return _plan(contract, observed, service_role, "product.created", {})


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
    schema = _qn(*p.schema_name)
    reader = _q(p.reader_role)
    statements: list[Statement] = []
    if observed.reader_role_exists and observed.product_schema_exists:
        statements += [
            _s(f"REVOKE SELECT ON FUTURE VIEWS IN SCHEMA {schema} FROM ROLE {reader}"),
            _s(f"REVOKE SELECT ON ALL VIEWS IN SCHEMA {schema} FROM ROLE {reader}"),
            _s(f"REVOKE USAGE ON SCHEMA {schema} FROM ROLE {reader}"),
            _s(f"REVOKE USAGE ON DATABASE {_q(d.database)} FROM ROLE {reader}"),
        ]
    statements.append(_s(f"DROP ROLE IF EXISTS {reader}"))
    if observed.product_schema_exists is not False:
        statements.append(
            _s(
                f"ALTER SCHEMA IF EXISTS {schema} SET TAG {_qn(*d.lifecycle_tag)} = %(lifecycle)s",
                {"lifecycle": "retired"},
            )
        )
    return Plan(f"product.retired {_label(p)}: reader role dropped, data kept", tuple(statements))
