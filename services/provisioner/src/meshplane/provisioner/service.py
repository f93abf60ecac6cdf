"""The provisioner, declared: product lifecycle events in; Snowflake objects and audit events out."""

from __future__ import annotations

from meshplane.common.events import (
    AuditProductProvisioned,
    AuditProductProvisioningFailed,
    AuditProductRetired,
)
from meshplane.common.kit import ServiceConfig, ServiceSpec, Subscription
from meshplane.common.snowflake.ports import SnowflakePort
from meshplane.provisioner import SERVICE_NAME, SERVICE_VERSION
from meshplane.provisioner.handlers import handlers, provisioning_failed
from meshplane.provisioner.provisioning import Provisioning
from meshplane.provisioner.settings import ProvisionerSettings

__all__ = ["SERVICE"]


def _provisioning(config: ServiceConfig[ProvisionerSettings], gateway: SnowflakePort) -> Provisioning:
    return Provisioning(gateway, service_role=config.snowflake.role)


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
)
