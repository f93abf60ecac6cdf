"""Audit events: what a service did, on ``mesh.audit``, for auditors, SRE teams and the other services.

Every audit event names the input it answers (``input``: the event's id, type, topic, partition and
offset) and the service that acted (name and version). Its CloudEvents id is derived from the
input's id and the action (:func:`~meshplane.common.events.envelope.derived_event_id`), so a
replayed input yields the same audit id and a consumer drops the duplicate by ``ce_id``.
Statements are recorded as a person would read them, with the query id Snowflake gave each, so an
auditor can join the audit stream to ``QUERY_HISTORY``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from meshplane.common.events.base import EventData, event_type

__all__ = [
    "AuditEventData",
    "AuditEventRejected",
    "AuditProductProvisioned",
    "AuditProductProvisioningFailed",
    "AuditProductRetired",
    "ExecutedStatement",
    "InputRef",
    "RejectionReason",
    "ServiceRef",
    "SnowflakeFailure",
]

RejectionReason = Literal[
    "bad-json", "not-a-cloudevent", "unknown-type", "schema-error", "unsafe-name", "spoofed-domain"
]


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ServiceRef(_Part):
    name: str = Field(description="The service that acted, e.g. provisioner.")
    version: str


class InputRef(_Part):
    """The event an audit event answers. ``id``/``type`` are None when the input had none readable."""

    id: str | None = None
    type: str | None = None
    source: str | None = None
    topic: str
    partition: int
    offset: int
    key: str | None = None


class ExecutedStatement(_Part):
    sql: str = Field(description="The statement with its values bound, as run.")
    query_id: str | None = Field(
        default=None, description="Snowflake's query id, to join with QUERY_HISTORY."
    )


class SnowflakeFailure(_Part):
    errno: int | None = None
    sqlstate: str | None = None
    message: str
    query_id: str | None = None
    statement_index: int | None = Field(
        default=None, description="Which statement of the plan failed (0-based)."
    )


class AuditEventData(EventData):
    service: ServiceRef
    input: InputRef


class _ProductAudit(AuditEventData):
    domain: str
    product: str

    @property
    def event_domain(self) -> str:
        return self.domain

    @property
    def event_key(self) -> str:
        return f"{self.domain}.{self.product}"


@event_type("mesh.audit.product.provisioned.v1")
class AuditProductProvisioned(_ProductAudit):
    """A product's Snowflake objects, roles, grants, tags and masking exist as its contract says."""

    version: str
    database: str
    schema_name: str = Field(description="The product's schema: one per major version.")
    reader_role: str
    domain_created: bool = Field(description="True when this event set up the domain itself.")
    round_trips: int = Field(description="Requests made to Snowflake, SHOW included.")
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


@event_type("mesh.audit.event.rejected.v1")
class AuditEventRejected(AuditEventData):
    """An input could not be taken; it is on ``mesh.deadletter`` with its original bytes and headers."""

    reason_code: RejectionReason
    reason: str = Field(description="What was wrong, in words a publisher can act on.")
    domain: str | None = Field(
        default=None, description="The domain of the topic the input arrived on, if any."
    )

    @property
    def event_domain(self) -> str | None:
        return self.domain

    @property
    def event_key(self) -> str | None:
        return self.input.key
