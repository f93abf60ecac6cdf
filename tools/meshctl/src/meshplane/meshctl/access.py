"""What ``meshctl access`` publishes: access requests, owners' decisions and revocations, built and checked.

Each function turns the command line's words into the event the mesh's contract defines
(:mod:`meshplane.common.events.access`) and names the topic it goes on: the asking domain's for a
request or a revocation, the owner's for a decision. A value the contract
refuses (a product id without its domain, a duration that is not ISO 8601, an account that is not
``ORG.ACCOUNT``) is a :class:`MeshctlError` in one line, before anything is published.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import TypeVar

from pydantic import TypeAdapter, ValidationError

from meshplane.common.events import (
    AccessDecided,
    AccessRequested,
    AccessRevokeRequested,
    EventData,
    ExternalConsumer,
    InternalConsumer,
    domain_topic,
)
from meshplane.common.events.access import Consumer
from meshplane.meshctl.contracts import one_line_validation_error
from meshplane.meshctl.errors import MeshctlError

__all__ = ["decision", "request", "revocation"]

_DURATION = TypeAdapter(timedelta)
#: ISO 8601 durations, as the contract documents them (pydantic alone also takes forms like "1 day").
_ISO_8601_DURATION = re.compile(
    r"-?P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?"
)


def _product(product_id: str) -> tuple[str, str]:
    domain, dot, product = product_id.partition(".")
    if not dot or not domain or not product:
        raise MeshctlError(f"not a product id: {product_id!a} (<domain>.<product>, e.g. sales.orders)")
    return domain, product


def _topic(domain: str) -> str:
    try:
        return domain_topic(domain, "access")
    except ValueError as exc:
        raise MeshctlError(str(exc)) from None


def _duration(text: str | None) -> timedelta | None:
    if text is None:
        return None
    try:
        if not _ISO_8601_DURATION.fullmatch(text):
            raise ValueError(text)
        return _DURATION.validate_python(text)
    except (ValidationError, ValueError):
        raise MeshctlError(f"not an ISO 8601 duration: {text!a} (e.g. P30D, PT12H)") from None


def _consumer(domain: str, account: str | None) -> Consumer:
    return ExternalConsumer(account=account) if account is not None else InternalConsumer(domain=domain)


_E = TypeVar("_E", bound=EventData)


def _built(what: str, build: type[_E], **fields: object) -> _E:
    try:
        return build(**fields)
    except ValidationError as exc:
        raise MeshctlError(one_line_validation_error(exc, prefix=f"not a valid {what}: ")) from None


def request(
    product_id: str,
    *,
    as_domain: str,
    account: str | None,
    major: int,
    duration: str,
    purpose: str,
    request_id: str | None,
) -> tuple[AccessRequested, str]:
    """access.requested, and the topic that carries it (the asking domain's)."""
    domain, product = _product(product_id)
    fields = {
        "request_id": request_id or str(uuid.uuid4()),
        "domain": domain,
        "product": product,
        "major": major,
        "requester": as_domain,
        "purpose": purpose,
        "duration": _duration(duration),
    }
    try:
        consumer = _consumer(as_domain, account)
    except ValidationError as exc:
        raise MeshctlError(one_line_validation_error(exc, prefix="not a valid consumer: ")) from None
    return _built("request", AccessRequested, consumer=consumer, **fields), _topic(as_domain)


def decision(
    product_id: str, request_id: str, *, approve: bool, reason: str, major: int, duration: str | None
) -> tuple[AccessDecided, str]:
    """access.decided, and the topic that carries it (the owner's)."""
    domain, product = _product(product_id)
    event = _built(
        "decision",
        AccessDecided,
        request_id=request_id,
        domain=domain,
        product=product,
        major=major,
        decision="approve" if approve else "deny",
        reason=reason,
        duration=_duration(duration),
    )
    return event, _topic(domain)


def revocation(
    product_id: str,
    *,
    as_domain: str,
    consumer_domain: str | None,
    account: str | None,
    major: int,
    reason: str | None,
    request_id: str | None,
) -> tuple[AccessRevokeRequested, str]:
    """access.revoke-requested, and the topic that carries it (the asking domain's)."""
    domain, product = _product(product_id)
    if (consumer_domain is None) == (account is None):
        raise MeshctlError("name the consumer whose access ends: --consumer DOMAIN or --account ORG.ACCOUNT")
    try:
        consumer = _consumer(consumer_domain or "", account)
    except ValidationError as exc:
        raise MeshctlError(one_line_validation_error(exc, prefix="not a valid consumer: ")) from None
    event = _built(
        "revocation",
        AccessRevokeRequested,
        request_id=request_id or str(uuid.uuid4()),
        domain=domain,
        product=product,
        major=major,
        requested_by=as_domain,
        consumer=consumer,
        reason=reason,
    )
    return event, _topic(as_domain)
