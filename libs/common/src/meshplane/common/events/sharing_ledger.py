"""Sharing's ledger record: every grant the mesh holds on one product, and every request pending on it.

Sharing keeps its state on the compacted topic ``mesh.sharing-ledger``, one whole record per
product, keyed by the product id: the grants it made (which version, to whom, until when, on which
request and policy revision) and the requests waiting for the owner's decision. Kafka keeps the
latest record of every key, so a replica rebuilds the state by reading the topic from its start;
no database is needed and no warehouse wakes. The record is sharing's to write and to read; it is
documented here because SRE teams read it when they ask who holds what.

One record per product (not per grant) so that everything sharing does to one product — a grant, an
expiry, a retirement, a drift repair — is decided from one record, by the replica that owns the
product's partition.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import Field

from meshplane.common.events.access import Consumer
from meshplane.common.events.access_audit import Decision
from meshplane.common.events.audit import InputRef
from meshplane.common.events.base import EventData, EventPart, event_type
from meshplane.common.events.product import DomainName, ProductName

__all__ = ["LedgerGrant", "PendingRequest", "SharingLedgerEntry"]


class LedgerGrant(EventPart):
    """One consumer's access to one version of the product, and when it ends."""

    major: int
    consumer: Consumer
    requester: str = Field(description="The domain that asked (an outside account's sponsor).")
    expires_at: datetime
    request_id: str = Field(description="The request whose approval made (or last extended) the grant.")
    policy_revision: str
    granted: str = Field(description="The reader role granted, or the share the account was added to.")


class PendingRequest(EventPart):
    """A request the policy left to the owner's decision, as it was asked."""

    request_id: str
    major: int
    requester: str
    consumer: Consumer
    purpose: str
    duration: timedelta
    decision: Decision = Field(description="The policy's pending decision (who must approve).")
    input: InputRef = Field(description="The access.requested event, for the audit of the decision.")


@event_type("mesh.sharing.ledger.v1")
class SharingLedgerEntry(EventData):
    """Everything sharing holds on one product: the whole record, so compaction keeps the current state."""

    domain: DomainName
    product: ProductName
    grants: tuple[LedgerGrant, ...] = ()
    pending: tuple[PendingRequest, ...] = ()
    decided: tuple[PendingRequest, ...] = Field(
        default=(),
        description=(
            "The last requests the owner decided (their decision as decided), newest last: a decision "
            "delivered again is answered as the first time."
        ),
    )
    changed_by: str = Field(description="The id of the event (or the sweep) that last changed the record.")

    @property
    def product_id(self) -> str:
        return f"{self.domain}.{self.product}"

    @property
    def event_key(self) -> str:
        return self.product_id

    # No event_domain: sharing's own record, on a topic of the mesh, speaks for no domain.
