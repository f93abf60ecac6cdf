"""Audit events: what a service did, on ``mesh.audit``, for auditors, SRE teams and the other services.

Every audit event names the input it answers (``input``: the event's id, type, topic, partition,
offset and content digest) and the service that acted (name and version). Its CloudEvents id is
derived from the input's id, its content digest and the action
(:func:`~meshplane.common.events.envelope.derived_event_id`), so a replayed input yields the same
audit id and a consumer drops the duplicate by ``ce_id``, while an id reused for other content
gets audit ids of its own.
Statements are recorded as a person would read them, with the query id Snowflake gave each, so an
auditor can join the audit stream to ``QUERY_HISTORY``.

This module holds what every service's audit events share, with the helpers that fill those
fields from the gateway's results and errors; each kind of product has its own module
(:mod:`~meshplane.common.events.product_audit`).
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field

from meshplane.common.events.base import EventData, EventPart, event_type
from meshplane.common.snowflake.errors import SnowflakeGatewayError
from meshplane.common.snowflake.results import PlanResult

__all__ = [
    "AuditEventData",
    "AuditEventRejected",
    "ExecutedStatement",
    "InputRef",
    "RejectionReason",
    "ServiceRef",
    "SnowflakeFailure",
]

RejectionReason = Literal[
    "bad-json",
    "not-a-cloudevent",
    "unknown-type",
    "schema-error",
    "unsafe-name",
    "spoofed-domain",
    "id-reused",
]


class ServiceRef(EventPart):
    name: str = Field(description="The service that acted, e.g. provisioner.")
    version: str


class InputRef(EventPart):
    """The event an audit event answers. ``id``/``type`` are None when the input had none readable."""

    id: str | None = None
    type: str | None = None
    source: str | None = None
    topic: str
    partition: int
    offset: int
    key: str | None = None
    digest: str | None = Field(
        default=None,
        description="SHA-256 of the input's ce_type and value: a replay is the same id with the same digest.",
    )


class ExecutedStatement(EventPart):
    sql: str = Field(description="The statement with its values bound, as run.")
    query_id: str | None = Field(
        default=None, description="Snowflake's query id, to join with QUERY_HISTORY."
    )

    @classmethod
    def of_result(cls, result: PlanResult) -> tuple[Self, ...]:
        """Every statement of a plan that ran, with the query id Snowflake gave it."""
        return tuple(cls(sql=r.statement.compile(), query_id=r.query_id) for r in result.results)

    @classmethod
    def ran_before(cls, error: BaseException | None) -> tuple[Self, ...]:
        """The statements of a failed plan that ran before the one that failed (query ids unknown)."""
        if not isinstance(error, SnowflakeGatewayError):
            return ()
        return tuple(cls(sql=statement.compile()) for statement in error.ran_before)


class SnowflakeFailure(EventPart):
    errno: int | None = None
    sqlstate: str | None = None
    message: str
    query_id: str | None = None
    statement_index: int | None = Field(
        default=None, description="Which statement of the plan failed (0-based)."
    )

    @classmethod
    def of(cls, error: BaseException | None) -> Self | None:
        """Snowflake's error as audit fields; None when the failure did not come from Snowflake."""
        if not isinstance(error, SnowflakeGatewayError):
            return None
        return cls(
            errno=error.errno,
            sqlstate=error.sqlstate,
            message=str(error),
            query_id=error.query_id,
            statement_index=error.statement_index,
        )


class AuditEventData(EventData):
    service: ServiceRef
    input: InputRef


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
