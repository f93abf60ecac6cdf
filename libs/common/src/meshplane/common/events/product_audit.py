"""Audit events about data products: provisioned, failed, retired (the provisioner's output).

Other services read these to know what exists: sharing grants a product's reader role once it
is provisioned, and revokes every grant on a version once it is retired.
"""

from __future__ import annotations

from pydantic import Field

from meshplane.common.events.audit import AuditEventData, ExecutedStatement, SnowflakeFailure
from meshplane.common.events.base import AboutOneProduct, event_type

__all__ = ["AuditProductProvisioned", "AuditProductProvisioningFailed", "AuditProductRetired"]


class _ProductAudit(AboutOneProduct, AuditEventData):
    domain: str
    product: str


@event_type("mesh.audit.product.provisioned.v1")
class AuditProductProvisioned(_ProductAudit):
    """A product's Snowflake objects, roles, grants, tags and masking exist as its contract says."""

    version: str
    database: str
    schema_name: str = Field(description="The product's schema: one per major version.")
    reader_role: str
    domain_created: bool = Field(description="True when this event set up the domain itself.")
    round_trips: int = Field(description="Requests that ran SQL in Snowflake, SHOW included.")
    http_requests: int = Field(
        default=0,
        description=(
            "Every HTTP request made to Snowflake for this event: those that ran SQL and those that "
            "fetched a statement's result (0 from producers older than this field)."
        ),
    )
    statements: tuple[ExecutedStatement, ...]


@event_type("mesh.audit.product.provisioning-failed.v1")
class AuditProductProvisioningFailed(_ProductAudit):
    """A product event was refused or failed; nothing further will be tried for it."""

    version: str | None = None
    reason: str
    failure: SnowflakeFailure | None = Field(
        default=None, description="Snowflake's error, when Snowflake refused."
    )
    statements: tuple[ExecutedStatement, ...] = Field(description="Statements that ran before the failure.")


@event_type("mesh.audit.product.retired.v1")
class AuditProductRetired(_ProductAudit):
    """A product version is retired: its reader role is gone, its schema tagged retired and kept."""

    major: int
    schema_name: str
    reader_role: str
    statements: tuple[ExecutedStatement, ...]
