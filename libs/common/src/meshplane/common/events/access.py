"""Access events: a domain asks for another domain's product, the owner decides, either may revoke.

* ``mesh.access.requested.v1`` — published by the **consumer** domain on ``mesh.<consumer>.access``
  (the topic is its identity): which product and major version, why, for how long (ISO 8601), and
  for whom — the domain itself, or an outside Snowflake account (``ORG.ACCOUNT``) it sponsors.
* ``mesh.access.decided.v1`` — published by the **owning** domain on ``mesh.<owner>.access``:
  approve or deny a pending request, with the reason. A decision from any other domain's topic is
  refused as spoofed, because the product id names its owner.
* ``mesh.access.revoke-requested.v1`` — by the owner or the consumer, on its own topic.

Durations are parsed, not judged: a zero, negative or too long duration is a request the policy
denies with its reason (an audit event), not a malformed event. Account locators are checked
against Snowflake's naming (letters, digits, underscores), so none can carry SQL.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import Field, model_validator

from meshplane.common.events.base import AboutOneProduct, EventData, EventPart, event_type
from meshplane.common.events.product import DomainName, ProductName
from meshplane.common.snowflake.identifiers import ACCOUNT_PATTERN

__all__ = [
    "ACCOUNT_LOCATOR_PATTERN",
    "AccessDecided",
    "AccessRequested",
    "AccessRevokeRequested",
    "Consumer",
    "ExternalConsumer",
    "InternalConsumer",
]

#: ``ORG.ACCOUNT`` (the rule lives with the other Snowflake names, in ``snowflake.identifiers``).
ACCOUNT_LOCATOR_PATTERN = ACCOUNT_PATTERN

RequestId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$",
        description="The publisher's id for the request; the decision and revocation name it.",
    ),
]
Major = Annotated[int, Field(ge=0, le=999_999, description="The product's major version.")]


class InternalConsumer(EventPart):
    """A domain of the mesh: its consumer role receives the product's reader role."""

    kind: Literal["domain"] = "domain"
    domain: DomainName


class ExternalConsumer(EventPart):
    """An outside Snowflake account: it is added to the product's secure share."""

    kind: Literal["account"] = "account"
    account: str = Field(pattern=ACCOUNT_LOCATOR_PATTERN, description="ORG.ACCOUNT")


Consumer = Annotated[InternalConsumer | ExternalConsumer, Field(discriminator="kind")]


class _ProductAccess(AboutOneProduct, EventData):
    request_id: RequestId
    domain: DomainName = Field(description="The product's (owning) domain.")
    product: ProductName
    major: Major


@event_type("mesh.access.requested.v1")
class AccessRequested(_ProductAccess):
    """A domain asks for read access to another domain's product, for itself or an outside account."""

    requester: DomainName = Field(
        description="The domain asking: the domain of the topic it is published on."
    )
    consumer: Consumer
    purpose: str = Field(min_length=1, max_length=2000)
    duration: timedelta = Field(description="How long the access is asked for, ISO 8601 (e.g. P30D).")

    @model_validator(mode="after")
    def _asks_for_itself(self) -> AccessRequested:
        if isinstance(self.consumer, InternalConsumer) and self.consumer.domain != self.requester:
            raise ValueError("a domain asks for access for itself or for an outside account it sponsors")
        return self

    @property
    def event_domain(self) -> str:
        return self.requester


@event_type("mesh.access.decided.v1")
class AccessDecided(_ProductAccess):
    """The owning domain approves or denies a pending request.

    It speaks for the product's domain (``AboutOneProduct``), so only the owner's topic may carry it.
    """

    decision: Literal["approve", "deny"]
    reason: str = Field(min_length=1, max_length=2000)
    duration: timedelta | None = Field(
        default=None, description="An approval for less time than asked (never more than the policy allows)."
    )


@event_type("mesh.access.revoke-requested.v1")
class AccessRevokeRequested(_ProductAccess):
    """The owner or the consumer asks for a grant to end now."""

    requested_by: DomainName = Field(description="The domain asking: the owner's or the consumer's.")
    consumer: Consumer
    reason: str | None = Field(default=None, max_length=2000)

    @property
    def event_domain(self) -> str:
        return self.requested_by
