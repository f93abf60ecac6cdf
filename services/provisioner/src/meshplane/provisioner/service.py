"""The provisioner, declared: product lifecycle events in; Snowflake objects and audit events out."""

from __future__ import annotations

from meshplane.common.events import (
    AuditProductProvisioned,
    AuditProductProvisioningFailed,
    AuditProductRetired,
)
from meshplane.common.kit import ServiceParts, ServiceSpec, Subscription
from meshplane.common.layout import READER_ROLES_OWNER
from meshplane.provisioner import SERVICE_NAME, SERVICE_VERSION
from meshplane.provisioner.handlers import handlers, provisioning_failed
from meshplane.provisioner.provisioning import Provisioning
from meshplane.provisioner.settings import ProvisionerSettings

__all__ = ["SERVICE"]


def _provisioning(parts: ServiceParts[ProvisionerSettings]) -> Provisioning:
    assert parts.catalog is not None  # the spec asks for it
    return Provisioning(parts.gateway, service_role=parts.config.snowflake.role, catalog=parts.catalog)


SERVICE = ServiceSpec(
    name=SERVICE_NAME,
    version=SERVICE_VERSION,
    description="Product lifecycle events in; Snowflake objects, audit events and dead letters out.",
    settings=ProvisionerSettings,
    subscriptions=(
        Subscription(
            kind="product",
            title="product lifecycle",
            description="Each domain's product.created / updated / retired events, on mesh.<domain>.product.",
            handlers=handlers,
        ),
    ),
    emits=(AuditProductProvisioned, AuditProductProvisioningFailed, AuditProductRetired),
    dependencies=_provisioning,
    on_failure=provisioning_failed,
    catalog="write",
    # deploy/snowflake/bootstrap.sql grants these; nothing more.
    account_privileges=("CREATE DATABASE", "CREATE WAREHOUSE", "CREATE ROLE", "APPLY MASKING POLICY"),
    held_roles=(READER_ROLES_OWNER,),
    needs_enterprise=True,
)
