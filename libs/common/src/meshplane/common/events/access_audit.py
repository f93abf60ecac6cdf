"""Audit events about access to products: what was decided, granted, revoked, expired, repaired.

Each names the request and the product, the consumer, the policy's decision with the revision of
the policy that made it, and the statements run with their query ids. They are how auditors see who
could read what, when and why; and how other services (quality's notifications) know who holds a
grant on a product.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from meshplane.common.events.access import Consumer
from meshplane.common.events.audit import AuditEventData, ExecutedStatement, SnowflakeFailure
from meshplane.common.events.base import AboutOneProduct, EventPart, event_type

__all__ = [
    "AuditAccessDenied",
    "AuditAccessExpired",
    "AuditAccessFailed",
    "AuditAccessGranted",
    "AuditAccessPending",
    "AuditAccessRevoked",
    "AuditDriftDetected",
    "AuditDriftRepaired",
    "Decision",
    "GrantDrift",
]


class Decision(EventPart):
    """What the policy said, and which policy said it."""

    outcome: Literal["approve", "deny", "pending"]
    reason: str
    policy_revision: str = Field(description="The revision of the policy bundle that decided.")
    approvers: tuple[str, ...] = Field(default=(), description="Who must approve, when pending.")
    duration_seconds: int | None = Field(default=None, description="The access allowed, when approved.")


class _AccessAudit(AboutOneProduct, AuditEventData):
    request_id: str
    domain: str = Field(description="The product's domain.")
    product: str
    major: int
    consumer: Consumer
    decision: Decision | None = None
    statements: tuple[ExecutedStatement, ...] = ()


@event_type("mesh.audit.access.granted.v1")
class AuditAccessGranted(_AccessAudit):
    """The consumer can read the product version until ``expires_at``."""

    expires_at: datetime
    grant: str = Field(description="The reader role granted, or the share the account was added to.")


@event_type("mesh.audit.access.denied.v1")
class AuditAccessDenied(_AccessAudit):
    """The request was denied, by the policy or by the owner; ``decision.reason`` says why."""


@event_type("mesh.audit.access.pending.v1")
class AuditAccessPending(_AccessAudit):
    """The request waits for an approval (``decision.approvers``)."""


@event_type("mesh.audit.access.revoked.v1")
class AuditAccessRevoked(_AccessAudit):
    """A grant ended before its expiry: asked for, or its product version was retired."""

    reason: str


@event_type("mesh.audit.access.expired.v1")
class AuditAccessExpired(_AccessAudit):
    """A grant reached its expiry and was revoked without anyone asking."""

    expired_at: datetime


@event_type("mesh.audit.access.failed.v1")
class AuditAccessFailed(AboutOneProduct, AuditEventData):
    """An access event that was not carried out and will not be tried again: a decision on no pending
    request, a revocation by a domain that is neither owner nor consumer, Snowflake refusing, a bug
    retried in vain. ``reason`` says which, in words the publisher can act on."""

    request_id: str
    domain: str = Field(description="The product's domain.")
    product: str
    major: int
    consumer: Consumer | None = None
    reason: str
    failure: SnowflakeFailure | None = None
    statements: tuple[ExecutedStatement, ...] = ()


class GrantDrift(EventPart):
    """One difference between what the mesh granted and what Snowflake holds."""

    kind: Literal["added-by-hand", "removed-by-hand"]
    privilege: str
    granted_on: str
    name: str
    grantee: str


@event_type("mesh.audit.drift.detected.v1")
class AuditDriftDetected(AboutOneProduct, AuditEventData):
    """What Snowflake holds on a product's reader role differs from what the mesh granted."""

    domain: str
    product: str
    major: int
    drift: tuple[GrantDrift, ...]


@event_type("mesh.audit.drift.repaired.v1")
class AuditDriftRepaired(AuditDriftDetected):
    """The drift was undone: grants added by hand revoked, grants removed by hand restored."""

    statements: tuple[ExecutedStatement, ...]
