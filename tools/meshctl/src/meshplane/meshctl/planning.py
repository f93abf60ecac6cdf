"""``meshctl plan``: the SQL the provisioner would run for a contract now, executing nothing.

The planner is the provisioner's own (:mod:`meshplane.provisioner.plan`), so what is shown is what
would run. Online, the current state is read the way the provisioner reads it — SHOW statements
only (:func:`meshplane.provisioner.observe.observe`), metadata that wakes no warehouse. Offline,
the plan is made as if nothing existed: a new domain, a new product.
"""

from __future__ import annotations

import json
from typing import Final

from pydantic import ValidationError

from meshplane.common.events.contract import MeshContract
from meshplane.common.snowflake.errors import SnowflakeGatewayError
from meshplane.common.snowflake.gateway import SnowflakeGateway
from meshplane.common.snowflake.results import Requests
from meshplane.common.snowflake.settings import SnowflakeSettings
from meshplane.common.snowflake.statements import Plan
from meshplane.meshctl.contracts import one_line_validation_error
from meshplane.meshctl.errors import MeshctlError
from meshplane.provisioner.observe import NOTHING_EXISTS, Observed, observe
from meshplane.provisioner.plan import BreakingChange, plan_product_created, plan_product_updated
from meshplane.provisioner.service import SERVICE as PROVISIONER

__all__ = [
    "DEFAULT_SERVICE_ROLE",
    "QUERY_TAG",
    "describe_observed",
    "make_plan",
    "observe_online",
    "plan_offline",
    "snowflake_settings",
]

#: The provisioner's role as deploy/snowflake/bootstrap.sql creates it, for offline plans.
DEFAULT_SERVICE_ROLE: Final = PROVISIONER.role
#: meshctl's SHOW statements are tagged so QUERY_HISTORY tells them from the services' work.
QUERY_TAG: Final = json.dumps({"service": "meshctl", "command": "plan"}, separators=(",", ":"))


def make_plan(contract: MeshContract, observed: Observed, *, updated: bool, service_role: str) -> Plan:
    """The provisioner's plan for product.created (or .updated) of ``contract`` given ``observed``."""
    try:
        if updated:
            return plan_product_updated(contract, observed, service_role=service_role)
        return plan_product_created(contract, observed, service_role=service_role)
    except BreakingChange as exc:
        raise MeshctlError(f"the update would break readers: {exc.reason}") from None
    except ValueError as exc:  # a derived name or the service role breaks the naming rule
        raise MeshctlError(f"cannot plan {contract.product_id}: {exc}") from None


def _seen(value: bool | None) -> str:
    return "not observed" if value is None else ("exists" if value else "missing")


def describe_observed(observed: Observed) -> str:
    """``domain ready, schema exists, reader role exists, columns of 1 table`` — one line."""
    parts = [
        "domain ready" if observed.domain_ready else "domain not set up",
        f"schema {_seen(observed.product_schema_exists)}",
        f"reader role {_seen(observed.reader_role_exists)}",
    ]
    if observed.columns:
        count = len(observed.columns)
        parts.append(f"columns of {count} table{'' if count == 1 else 's'}")
    return ", ".join(parts)


def plan_offline(contract: MeshContract, *, updated: bool, service_role: str | None) -> Plan:
    """The plan as if nothing of the domain existed yet."""
    return make_plan(
        contract, NOTHING_EXISTS, updated=updated, service_role=service_role or DEFAULT_SERVICE_ROLE
    )


def snowflake_settings() -> SnowflakeSettings:
    """``MESH_SNOWFLAKE_*`` settings, or a one-line reason why they are not usable."""
    try:
        return SnowflakeSettings()  # required fields come from the environment
    except ValidationError as exc:
        raise MeshctlError(
            one_line_validation_error(exc, prefix="Snowflake settings (MESH_SNOWFLAKE_*) are incomplete: ")
            + "; or plan with --offline"
        ) from None


async def observe_online(contract: MeshContract, settings: SnowflakeSettings) -> tuple[Observed, Requests]:
    """What exists now, read with SHOW through the gateway: ``(observed, what it cost)``."""
    gateway = SnowflakeGateway(settings)
    try:
        return await observe(gateway, contract.domain, contract.product, contract.major, query_tag=QUERY_TAG)
    except SnowflakeGatewayError as exc:
        raise MeshctlError(f"observing {contract.product_id} in Snowflake failed: {exc}") from None
    finally:
        await gateway.aclose()
