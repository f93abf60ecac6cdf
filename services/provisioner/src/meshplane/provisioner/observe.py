"""What exists in Snowflake for a domain and a product, read with SHOW only (metadata, no credits).

Observation is a plan of SHOW statements run through the gateway like any other plan; the gateway
sends a plan of reads one statement per request, so no warehouse wakes: ``SHOW DATABASES LIKE``
(the domain's database and its ready marker), ``SHOW SCHEMAS LIKE … IN ACCOUNT`` (the product's
schema) and ``SHOW ROLES LIKE`` (its reader role). Each is scoped so that it succeeds whatever
exists — ``IN ACCOUNT`` rather than ``IN DATABASE x``, which would fail while ``x`` does not exist.

Columns are read only when the product's schema exists, with ``SHOW COLUMNS IN SCHEMA`` afterwards
(it fails when the schema is missing).

``LIKE`` patterns are bound values; ``_`` is a wildcard in them, so rows are matched again by exact
name here (https://docs.snowflake.com/en/sql-reference/sql/show-databases , "LIKE").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from meshplane.common.layout import domain_layout, is_domain_ready_comment, product_layout
from meshplane.common.snowflake.identifiers import qualified_name
from meshplane.common.snowflake.ports import SnowflakePort
from meshplane.common.snowflake.results import PlanResult, Requests, Row
from meshplane.common.snowflake.statements import Plan, Statement

__all__ = [
    "ASSUME_DOMAIN_READY",
    "NOTHING_EXISTS",
    "Observed",
    "columns_plan",
    "observation_plan",
    "observe",
    "read_observation",
]


@dataclass(frozen=True)
class Observed:
    """What SHOW said exists. ``None`` means "not observed" (the planner must not rely on it)."""

    domain_ready: bool
    product_schema_exists: bool | None = None
    #: table or view -> column -> data type as SHOW COLUMNS reports it (a JSON text in Snowflake).
    columns: Mapping[str, Mapping[str, str]] | None = None
    reader_role_exists: bool | None = None


#: What the handler uses when it already knows the domain is set up: it skips observation.
ASSUME_DOMAIN_READY: Final = Observed(domain_ready=True)
#: A new account: nothing of the domain exists.
NOTHING_EXISTS: Final = Observed(
    domain_ready=False, product_schema_exists=False, columns=MappingProxyType({}), reader_role_exists=False
)


def _wants_product(product: str | None, major: int | None) -> bool:
    if (product is None) != (major is None):
        raise ValueError("observe a product with both its name and its major version, or neither")
    return product is not None


def observation_plan(domain: str, product: str | None = None, major: int | None = None) -> Plan:
    """The SHOW statements that say whether the domain is ready and whether the product's parts exist."""
    layout = domain_layout(domain)
    statements = [Statement("SHOW DATABASES LIKE %(database)s", {"database": layout.database})]
    what = f"domain {layout.domain}"
    if _wants_product(product, major):
        assert product is not None
        assert major is not None
        p = product_layout(domain, product, major)
        statements.append(Statement("SHOW SCHEMAS LIKE %(schema)s IN ACCOUNT", {"schema": p.schema}))
        statements.append(Statement("SHOW ROLES LIKE %(role)s", {"role": p.reader_role}))
        what += f", product {p.product} v{p.major}"
    return Plan(f"observe {what}", tuple(statements))


def columns_plan(domain: str, product: str, major: int) -> Plan:
    """``SHOW COLUMNS IN SCHEMA`` of the product's schema (run only when the schema exists)."""
    p = product_layout(domain, product, major)
    return Plan.of(
        f"observe columns of {p.domain.domain}.{p.product} v{p.major}",
        Statement(f"SHOW COLUMNS IN SCHEMA {qualified_name(*p.schema_name)}"),
    )


def _rows(result: PlanResult, index: int) -> tuple[Row, ...]:
    return result.results[index].rows if index < len(result.results) else ()


def _text(row: Row, column: str) -> str:
    value = row.get(column)
    return "" if value is None else str(value)


def read_observation(
    result: PlanResult,
    domain: str,
    product: str | None = None,
    major: int | None = None,
    *,
    columns: PlanResult | None = None,
) -> Observed:
    """Read the results of :func:`observation_plan` (and :func:`columns_plan`, if run). Pure."""
    layout = domain_layout(domain)
    database_rows = [r for r in _rows(result, 0) if _text(r, "name") == layout.database]
    ready = any(is_domain_ready_comment(_text(r, "comment")) for r in database_rows)
    if not _wants_product(product, major):
        return Observed(domain_ready=ready)
    assert product is not None
    assert major is not None
    p = product_layout(domain, product, major)
    schema_exists = any(
        _text(r, "name") == p.schema and _text(r, "database_name") == layout.database
        for r in _rows(result, 1)
    )
    role_exists = any(_text(r, "name") == p.reader_role for r in _rows(result, 2))
    observed_columns: Mapping[str, Mapping[str, str]] | None
    if not schema_exists:
        observed_columns = MappingProxyType({})
    elif columns is None:
        observed_columns = None
    else:
        tables: dict[str, dict[str, str]] = {}
        for row in _rows(columns, 0):
            if _text(row, "database_name") != layout.database or _text(row, "schema_name") != p.schema:
                continue
            tables.setdefault(_text(row, "table_name"), {})[_text(row, "column_name")] = _text(
                row, "data_type"
            )
        observed_columns = MappingProxyType({t: MappingProxyType(c) for t, c in tables.items()})
    return Observed(
        domain_ready=ready,
        product_schema_exists=schema_exists,
        columns=observed_columns,
        reader_role_exists=role_exists,
    )


async def observe(
    gateway: SnowflakePort, domain: str, product: str | None, major: int | None, *, query_tag: str
) -> tuple[Observed, Requests]:
    """Observe through the gateway: ``(observed, what it cost)`` — a request per SHOW."""
    result = await gateway.execute(observation_plan(domain, product, major), query_tag)
    cost = result.requests
    observed = read_observation(result, domain, product, major)
    if product is not None and major is not None and observed.product_schema_exists:
        columns = await gateway.execute(columns_plan(domain, product, major), query_tag)
        cost += columns.requests
        observed = read_observation(result, domain, product, major, columns=columns)
    return observed, cost
