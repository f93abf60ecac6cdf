"""Pure planning for sharing: (product, consumer) -> the Plan that grants or revokes. No I/O.

A domain of the mesh reads another domain's product through the product's reader role: granting
that role to the consumer domain's consumer role is the whole grant, and revoking it the whole
revocation (https://docs.snowflake.com/en/sql-reference/sql/grant-role). The reader role already
holds USAGE and SELECT on the product's schema and views (the provisioner grants them), so
sharing never touches privileges on objects.

An outside account reads through the product version's secure share: USAGE on the domain's
database and on the product's schema, SELECT on each output port's secure view, each granted by
name (a share takes no ``ALL VIEWS IN SCHEMA``, and SELECT only on secure views:
https://docs.snowflake.com/en/sql-reference/sql/grant-privilege-share), then the account added
to the share. Revoking removes the account, which ends its reading at once, also from a database
it already created from the share (https://docs.snowflake.com/en/sql-reference/sql/alter-share).
The share itself stays, empty of accounts, ready for the next approval.

Every plan may run twice: granting what is held, adding an account already added or removing
one that is not there changes nothing; ``CREATE SHARE IF NOT EXISTS``; ``ALTER SHARE IF EXISTS``
for removal, so revoking from a share never created is not an error. ``REVOKE ROLE`` fails when
either role is gone, so the handler plans it only when observation says both exist.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from meshplane.common.events.access import Consumer, ExternalConsumer
from meshplane.common.events.access_audit import GrantDrift
from meshplane.common.layout import ProductLayout, domain_layout
from meshplane.common.snowflake.identifiers import is_safe_identifier, quote_identifier
from meshplane.common.snowflake.intents import (
    GrantRole,
    Intent,
    Object,
    RevokeRole,
    Share,
    ShareAccounts,
    ShareGrant,
)
from meshplane.common.snowflake.statements import Plan, Statement

__all__ = [
    "DriftRepair",
    "consumer_name",
    "plan_drift",
    "plan_grant",
    "plan_revoke",
    "share_comment",
    "show_reader_grants",
]


def consumer_name(consumer: Consumer) -> str:
    """The consumer as the ledger and audit events name it: ``domain:<name>`` or ``account:<ORG.ACCOUNT>``."""
    if isinstance(consumer, ExternalConsumer):
        return f"account:{consumer.account.upper()}"
    return f"domain:{consumer.domain}"


def share_comment(product: ProductLayout) -> str:
    product_id = f"{product.domain.domain}.{product.product}"
    return f"meshplane: {product_id} v{product.major}, outside accounts granted by sharing"


def _share_contents(product: ProductLayout, ports: tuple[str, ...]) -> list[Intent]:
    database = Object("DATABASE", (product.domain.database,))
    schema = Object("SCHEMA", product.schema_name)
    views = [Object("VIEW", view) for view in product.views(ports)]
    return [
        Share(product.share, share_comment(product)),
        ShareGrant("USAGE", database, product.share),
        ShareGrant("USAGE", schema, product.share),
        *(ShareGrant("SELECT", view, product.share) for view in views),
    ]


def plan_grant(product: ProductLayout, ports: tuple[str, ...], consumer: Consumer) -> Plan:
    """The statements that let ``consumer`` read ``product``'s output ``ports``.

    ``ports`` matter only to a share (a role reaches every view through the reader role); an
    outside account needs at least one, since a share without a view shares nothing.
    """
    what = f"{product.domain.domain}.{product.product} v{product.major} to {consumer_name(consumer)}"
    if isinstance(consumer, ExternalConsumer):
        if not ports:
            raise ValueError(
                f"{product.domain.domain}.{product.product} v{product.major} has no output port to share"
            )
        intents = [*_share_contents(product, ports), ShareAccounts(product.share, "ADD", (consumer.account,))]
        return Plan.of_intents(f"share {what}", intents)
    reader = domain_layout(consumer.domain).consumer_role
    return Plan.of_intents(f"grant {what}", [GrantRole(product.reader_role, reader)])


def plan_revoke(product: ProductLayout, consumer: Consumer) -> Plan:
    """The statements that end ``consumer``'s reading of ``product``."""
    what = f"{product.domain.domain}.{product.product} v{product.major} from {consumer_name(consumer)}"
    if isinstance(consumer, ExternalConsumer):
        return Plan.of_intents(
            f"unshare {what}", [ShareAccounts(product.share, "REMOVE", (consumer.account,))]
        )
    reader = domain_layout(consumer.domain).consumer_role
    return Plan.of_intents(f"revoke {what}", [RevokeRole(product.reader_role, reader)])


# -- drift: what Snowflake holds on a reader role against what the mesh granted -------------------


def show_reader_grants(product: ProductLayout) -> Statement:
    """Who holds the product's reader role (https://docs.snowflake.com/en/sql-reference/sql/show-grants ,
    ``SHOW GRANTS OF ROLE``: one row per grantee, ``granted_to`` ROLE or USER, ``grantee_name``)."""
    return Statement(f"SHOW GRANTS OF ROLE {quote_identifier(product.reader_role)}")


@dataclass(frozen=True)
class DriftRepair:
    """The differences found, and the plan that undoes them (restores first, then revokes)."""

    drift: tuple[GrantDrift, ...]
    plan: Plan


def _repairable(kind: str, name: str) -> bool:
    """A holder the mesh can name in a statement as SHOW gave it: a role or user whose name follows the
    naming rule in its canonical (upper-case) form. Others (``jane.doe@corp.com``, a quoted
    mixed-case role, an application) are reported, never touched."""
    return kind in ("ROLE", "USER") and is_safe_identifier(name) and name == name.upper()


def plan_drift(
    product: ProductLayout, held_by_domains: Iterable[str], holders: Iterable[Mapping[str, Any]]
) -> DriftRepair:
    """Compare the reader role's holders (``SHOW GRANTS OF ROLE`` rows) with the consumer roles of the
    domains the mesh granted it to: a holder nobody granted is revoked, a grant someone removed is
    restored. Restoring comes first, and no grant that should exist is touched, so no reader loses
    access for a moment. A holder whose name the mesh cannot state exactly is reported, not revoked."""
    expected = {("ROLE", domain_layout(domain).consumer_role) for domain in held_by_domains}
    actual = {(str(row["granted_to"]).upper(), str(row["grantee_name"])) for row in holders}
    reader = product.reader_role
    restored = sorted(expected - actual)
    added = sorted(actual - expected)
    drift = tuple(
        GrantDrift(
            kind=kind, privilege="USAGE", granted_on="ROLE", name=reader, grantee=f"{grantee_kind} {name}"
        )
        for kind, found in (("removed-by-hand", restored), ("added-by-hand", added))
        for grantee_kind, name in found
    )
    intents: list[Intent] = [GrantRole(reader, name) for _kind, name in restored]
    intents += [
        RevokeRole(reader, name, "USER" if kind == "USER" else "ROLE")
        for kind, name in added
        if _repairable(kind, name)
    ]
    label = f"{product.domain.domain}.{product.product} v{product.major}"
    return DriftRepair(drift, Plan.of_intents(f"repair drift on {label}'s reader role", intents))
