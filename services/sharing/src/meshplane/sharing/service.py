"""Sharing, declared: access events in; policy decisions, grants, shares, revocations and audit events out."""

from __future__ import annotations

from meshplane.common.events import (
    AuditAccessDenied,
    AuditAccessExpired,
    AuditAccessFailed,
    AuditAccessGranted,
    AuditAccessPending,
    AuditAccessRevoked,
    AuditDriftDetected,
    AuditDriftRepaired,
)
from meshplane.common.kit import Background, ServiceParts, ServiceSpec, Subscription
from meshplane.common.layout import READER_ROLES_OWNER
from meshplane.common.policy import PolicyClient
from meshplane.sharing import SERVICE_NAME, SERVICE_VERSION
from meshplane.sharing.handlers import access_failed, handlers
from meshplane.sharing.ledger_topic import LedgerReader
from meshplane.sharing.settings import SharingSettings
from meshplane.sharing.sharing import Sharing
from meshplane.sharing.sweep import Sweeper

__all__ = ["SERVICE"]


def _sharing(parts: ServiceParts[SharingSettings]) -> Sharing:
    assert parts.catalog is not None  # the spec asks for it
    own = parts.config.service
    group = parts.config.group_id(SERVICE_NAME)
    ledger = LedgerReader(
        parts.config.kafka, client_id=f"meshplane-{SERVICE_NAME}-ledger", topic=own.ledger_topic
    )
    sharing = Sharing(
        parts.gateway,
        policy=PolicyClient(own.policy),
        catalog=parts.catalog,
        ledger=ledger,
        emitter=parts.emitter,
        sweep_limit=own.sweep_limit,
        drift_seconds=own.drift_seconds,
        domains=own.domains,
    )
    sharing.sweeper = Sweeper(
        parts.config.kafka,
        client_id=f"meshplane-{SERVICE_NAME}-sweep",
        group_id=f"{group}-sweep",
        topic=own.ledger_topic,
        interval=own.sweep_seconds,
        sweep=sharing.sweep,
    )
    return sharing


def _background(sharing: Sharing) -> tuple[Background, ...]:
    # The ledger first: the sweep's group needs the topic, which the reader creates.
    return (sharing.ledger, sharing.sweeper) if sharing.sweeper is not None else (sharing.ledger,)


SERVICE = ServiceSpec(
    name=SERVICE_NAME,
    version=SERVICE_VERSION,
    description=(
        "Access requests in; policy decisions (Open Policy Agent), time-bound grants of reader roles "
        "and secure shares, their revocation and expiry, and audit events out."
    ),
    settings=SharingSettings,
    subscriptions=(
        Subscription(
            kind="access",
            title="access",
            description=(
                "access.requested (on the consumer's topic), access.decided (on the owner's) and "
                "access.revoke-requested (owner's or consumer's), on mesh.<domain>.access."
            ),
            handlers=handlers,
        ),
    ),
    emits=(
        AuditAccessGranted,
        AuditAccessPending,
        AuditAccessDenied,
        AuditAccessRevoked,
        AuditAccessExpired,
        AuditAccessFailed,
        AuditDriftDetected,
        AuditDriftRepaired,
    ),
    dependencies=_sharing,
    background=_background,
    on_failure=access_failed,
    catalog="read",
    # deploy/snowflake/bootstrap-sharing.sql grants these (and the role owning the reader roles).
    account_privileges=("CREATE SHARE", "MANAGE SHARE TARGET"),
    held_roles=(READER_ROLES_OWNER,),
)
