"""The mesh's names: where everything of a domain and of a product lives in Snowflake. No SQL.

Every service names Snowflake objects through this module: the provisioner creates them, sharing
grants a product's reader role to a consumer domain's role, quality checks a port's view, cost
reads a domain's warehouse. Pure naming, no I/O.

Every name here is canonical (upper case, the mesh's naming rule, see
:mod:`meshplane.common.snowflake.identifiers`) and checked when the layout is built, so a layout
that exists can be quoted into SQL. Planners, observation, ``meshctl`` and tests all name objects
through this module, so they cannot disagree.

The domain-ready marker is here too: the provisioner's domain plan writes it into the database's
COMMENT as its last statement, so a domain whose comment carries it is complete
(:func:`domain_comment`, :func:`is_domain_ready_comment`).

A domain ``sales`` gets:

* database ``SALES`` (its COMMENT carries the domain-ready marker), with a
  ``GOVERNANCE`` schema for the domain's tags and masking policies;
* warehouse ``SALES_WH``;
* roles ``SALES_ADMIN`` (owns the domain's objects), ``SALES_ENGINEER`` (under the admin; reads
  unmasked, writes the products' tables) and ``SALES_CONSUMER`` (under the engineer; the role other
  domains' reader roles are granted to, so the domain can read their products);
* tags ``SALES.GOVERNANCE.DOMAIN``, ``PRODUCT``, ``CLASSIFICATION``, ``LIFECYCLE``;
* one masking policy per type family, ``SALES.GOVERNANCE.MASK_<FAMILY>``, set on the
  classification tag (Snowflake allows one policy per data type on a tag).

A product ``orders`` at major version 1 gets schema ``SALES.ORDERS_V1``, reader role
``SALES__ORDERS_V1_READER`` and, once an outside account is granted it, secure share
``SALES__ORDERS_V1_SHARE``: roles and shares are account-wide, and the double underscore keeps one domain's
products apart from another's (domain and product names never contain ``__`` nor end in ``_``,
see :mod:`meshplane.common.events.names`; with a single ``_``, ``a`` + ``b_c`` and ``a_b`` + ``c``
would share a role). Each output port ``order_lines`` is a table and a secure view:

* the **view** is named after the port, ``ORDER_LINES``: it is what readers query, so the name a
  consumer types is the port name of the contract;
* the **table** holding the data is ``ORDER_LINES_DATA``; only the domain reads it directly.

Derived names that would pass the mesh's 64-character limit (a 32-character domain with a
32-character product) are shortened deterministically: the start of the name, then ``_`` and 8
hex digits of a SHA-256 of the full name, then the suffix. Distinct full names therefore keep
distinct short names (up to a hash collision), and the same inputs always give the same name.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Final

from meshplane.common.events.contract import TypeFamily
from meshplane.common.events.names import MESH_NAME_RULE, is_mesh_name, reserved_domain
from meshplane.common.snowflake.identifiers import (
    IDENTIFIER_MAX_LENGTH,
    UnsafeIdentifierError,
    canonical_identifier,
)

__all__ = [
    "DOMAIN_READY_MARKER",
    "GOVERNANCE_SCHEMA",
    "MASKED_TYPE_FAMILIES",
    "PORT_TABLE_SUFFIX",
    "READER_ROLES_OWNER",
    "DomainLayout",
    "PortLayout",
    "ProductLayout",
    "domain_comment",
    "domain_layout",
    "is_domain_ready_comment",
    "port_layout",
    "product_layout",
]

GOVERNANCE_SCHEMA: Final = "GOVERNANCE"
#: Owns every product's reader role, and is granted to the provisioner (which creates, hands over and
#: at retirement drops them) and to sharing (which grants them to consumers). A role is granted by its
#: owner or with MANAGE GRANTS (https://docs.snowflake.com/en/sql-reference/sql/grant-role), so this
#: is the least sharing can hold to grant reader roles: it owns nothing else. Created by the bootstraps.
READER_ROLES_OWNER: Final = "MESHPLANE_READER_ROLES"
#: The table behind a port's view is ``<PORT>_DATA``; the contract reader leaves room for it.
PORT_TABLE_SUFFIX: Final = "_DATA"

#: Every type family a contract column may have, each with its masking policy's signature type.
MASKED_TYPE_FAMILIES: Final[dict[TypeFamily, str]] = {
    "STRING": "VARCHAR",
    "NUMBER": "NUMBER",
    "FLOAT": "FLOAT",
    "BOOLEAN": "BOOLEAN",
    "DATE": "DATE",
    "TIMESTAMP_NTZ": "TIMESTAMP_NTZ",
    "TIMESTAMP_TZ": "TIMESTAMP_TZ",
    "VARIANT": "VARIANT",
}

_HASH_CHARS: Final = 8

#: The domain plan's last statement writes this into the database's COMMENT; a domain plan cut
#: short never wrote it, so it is run whole again. Its version changes when the domain plan does,
#: so that domains set up by an earlier release are planned again (v2: masking by CURRENT_ROLE).
DOMAIN_READY_MARKER: Final = "[meshplane:domain-ready:v2]"


def domain_comment(domain: str) -> str:
    """The domain database's COMMENT once the domain plan has run to its end (the ready marker)."""
    return f"Data mesh domain {domain}, provisioned by Meshplane. {DOMAIN_READY_MARKER}"


def is_domain_ready_comment(comment: str | None) -> bool:
    """Whether a database COMMENT (as SHOW DATABASES reports it) says the domain is complete."""
    return comment is not None and DOMAIN_READY_MARKER in comment


def _derived(base: str, suffix: str) -> str:
    """``<BASE><SUFFIX>``, shortened with a hash of the full name when it passes the limit."""
    full = canonical_identifier(base + suffix) if len(base + suffix) <= IDENTIFIER_MAX_LENGTH else None
    if full is not None:
        return full
    digest = hashlib.sha256((base + suffix).upper().encode("ascii")).hexdigest()[:_HASH_CHARS].upper()
    keep = IDENTIFIER_MAX_LENGTH - len(suffix) - _HASH_CHARS - 1
    return canonical_identifier(f"{base[:keep]}_{digest}{suffix}")


@dataclass(frozen=True)
class DomainLayout:
    """The Snowflake objects of one domain (canonical names; schema objects fully qualified)."""

    domain: str  # lower case, as in topics and tag values
    database: str
    warehouse: str
    admin_role: str
    engineer_role: str
    consumer_role: str
    governance_schema: str
    #: Tags as (database, schema, name) triples for ``qualified_name``.
    domain_tag: tuple[str, str, str]
    product_tag: tuple[str, str, str]
    classification_tag: tuple[str, str, str]
    lifecycle_tag: tuple[str, str, str]
    #: Type family -> masking policy (database, schema, name).
    masking_policies: tuple[tuple[TypeFamily, tuple[str, str, str]], ...]

    @property
    def tags(self) -> tuple[tuple[str, str, str], ...]:
        return (self.domain_tag, self.product_tag, self.classification_tag, self.lifecycle_tag)

    def masking_policy(self, family: TypeFamily) -> tuple[str, str, str]:
        return dict(self.masking_policies)[family]

    @staticmethod
    def dotted(name: tuple[str, str, str]) -> str:
        """A schema object's name as Snowflake's functions take it in a string: ``DB.SCHEMA.NAME``."""
        return ".".join(name)


def domain_layout(domain: str) -> DomainLayout:
    """Name every object of ``domain``; raises ``UnsafeIdentifierError`` for an unsafe or reserved name."""
    database = canonical_identifier(domain)
    if reason := reserved_domain(database.lower()):
        raise UnsafeIdentifierError(domain, reason)
    governance = canonical_identifier(GOVERNANCE_SCHEMA)

    def in_governance(name: str) -> tuple[str, str, str]:
        return (database, governance, canonical_identifier(name))

    return DomainLayout(
        domain=database.lower(),
        database=database,
        warehouse=_derived(database, "_WH"),
        admin_role=_derived(database, "_ADMIN"),
        engineer_role=_derived(database, "_ENGINEER"),
        consumer_role=_derived(database, "_CONSUMER"),
        governance_schema=governance,
        domain_tag=in_governance("DOMAIN"),
        product_tag=in_governance("PRODUCT"),
        classification_tag=in_governance("CLASSIFICATION"),
        lifecycle_tag=in_governance("LIFECYCLE"),
        masking_policies=tuple((family, in_governance(f"MASK_{family}")) for family in MASKED_TYPE_FAMILIES),
    )


@dataclass(frozen=True)
class PortLayout:
    """One output port: the secure view readers query and the table behind it."""

    port: str
    view: tuple[str, str, str]
    table: tuple[str, str, str]


def port_layout(product: ProductLayout, port: str) -> PortLayout:
    name = canonical_identifier(port)
    table = canonical_identifier(name + PORT_TABLE_SUFFIX)  # refused if the port name is too long
    return PortLayout(
        port=name,
        view=(product.domain.database, product.schema, name),
        table=(product.domain.database, product.schema, table),
    )


@dataclass(frozen=True)
class ProductLayout:
    """The Snowflake objects of one major version of a product."""

    domain: DomainLayout
    product: str  # lower case
    major: int
    schema: str
    reader_role: str
    #: The secure share outside accounts are added to (one per product version: a share holds
    #: USAGE on a single database, https://docs.snowflake.com/en/sql-reference/sql/grant-privilege-share).
    share: str

    @property
    def schema_name(self) -> tuple[str, str]:
        return (self.domain.database, self.schema)

    def port(self, port: str) -> PortLayout:
        return port_layout(self, port)

    def tables(self, ports: tuple[str, ...]) -> tuple[tuple[str, str, str], ...]:
        return tuple(self.port(p).table for p in ports)

    def views(self, ports: tuple[str, ...]) -> tuple[tuple[str, str, str], ...]:
        return tuple(self.port(p).view for p in ports)


def product_layout(domain: str, product: str, major: int) -> ProductLayout:
    """Name the objects of ``product`` version ``major`` in ``domain``."""
    if type(major) is not int or not 0 <= major <= 999_999:
        raise ValueError(f"a major version is an int from 0 to 999999, got {major!r}")
    for name in (domain, product):
        # Checked here as well as in the events: the role name below is unique only under this rule.
        if not is_mesh_name(name.lower() if isinstance(name, str) else name):
            raise UnsafeIdentifierError(name, f"is not a domain or product name ({MESH_NAME_RULE})")
    layout = domain_layout(domain)
    product_name = canonical_identifier(product)
    schema = canonical_identifier(f"{product_name}_V{major}")
    return ProductLayout(
        domain=layout,
        product=product_name.lower(),
        major=major,
        schema=schema,
        reader_role=_derived(f"{layout.database}__{schema}", "_READER"),
        share=_derived(f"{layout.database}__{schema}", "_SHARE"),
    )
