"""``meshctl doctor``: what a Snowflake account lacks before a service is pointed at it.

Run with a service's own identity (``MESH_SNOWFLAKE_*``, as the service will run); every check is a
metadata read (SHOW), so nothing is created and no warehouse wakes. For the service's declaration
it checks: the login and role; the service's warehouse (the role can use it); the account's edition
where the service needs Enterprise (masking policies); the account privileges the service's
bootstrap grants; and that the role holds no more than it needs and rolls up to SYSADMIN.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final, Literal

from meshplane.common.kit import ServiceSpec
from meshplane.common.snowflake.errors import SnowflakeGatewayError
from meshplane.common.snowflake.gateway import SnowflakeGateway
from meshplane.common.snowflake.identifiers import quote_identifier as _quoted
from meshplane.common.snowflake.settings import SnowflakeSettings
from meshplane.common.snowflake.statements import Statement

__all__ = ["Finding", "diagnose"]

QUERY_TAG: Final = json.dumps({"service": "meshctl", "command": "doctor"}, separators=(",", ":"))
#: Roles and privileges that give a service far more than it needs.
_TOO_POWERFUL_ROLES: Final = frozenset({"ACCOUNTADMIN", "SECURITYADMIN", "USERADMIN", "SYSADMIN", "ORGADMIN"})
_TOO_POWERFUL_PRIVILEGES: Final = frozenset({"MANAGE GRANTS", "OWNERSHIP"})


@dataclass(frozen=True)
class Finding:
    level: Literal["ok", "warn", "FAIL"]
    text: str

    def line(self) -> str:
        return f"{self.level:<4}  {self.text}"


def _text(row: dict[str, Any], column: str) -> str:
    value = row.get(column)
    return "" if value is None else str(value)


def diagnose(spec: ServiceSpec[Any, Any], settings: SnowflakeSettings) -> list[Finding]:
    """Every check for ``spec`` as ``settings``' identity; the first failure to log in stops them."""
    gateway = SnowflakeGateway(settings)
    try:
        return _diagnose(spec, settings, gateway)
    finally:
        gateway.close()


def _diagnose(
    spec: ServiceSpec[Any, Any], settings: SnowflakeSettings, gateway: SnowflakeGateway
) -> list[Finding]:
    findings: list[Finding] = []

    def read(sql: str, **params: Any) -> list[dict[str, Any]]:
        return [dict(row) for row in gateway.query_blocking(Statement(sql, params), QUERY_TAG)]

    try:
        (current,) = read("SELECT CURRENT_ROLE() AS ROLE, CURRENT_USER() AS USER")
    except SnowflakeGatewayError as error:
        return [Finding("FAIL", f"cannot log in as {settings.user} with role {settings.role}: {error}")]
    findings.append(Finding("ok", f"logged in as {current['USER']} with role {current['ROLE']}"))
    if spec.role != settings.role:
        findings.append(
            Finding("warn", f"the role is {settings.role}; the {spec.name}'s bootstrap names it {spec.role}")
        )

    warehouses = [
        r
        for r in read("SHOW WAREHOUSES LIKE %(name)s", name=settings.warehouse)
        if _text(r, "name") == settings.warehouse
    ]
    if warehouses:
        findings.append(Finding("ok", f"warehouse {settings.warehouse} can be used (its own, for plans)"))
    else:
        findings.append(
            Finding(
                "FAIL", f"warehouse {settings.warehouse} does not exist or {settings.role} may not use it"
            )
        )

    if spec.needs_enterprise:
        try:
            read("SHOW MASKING POLICIES LIKE %(name)s IN ACCOUNT", name="MESHPLANE_EDITION_PROBE")
            findings.append(Finding("ok", "masking policies are available (Enterprise Edition or higher)"))
        except SnowflakeGatewayError as error:
            findings.append(
                Finding(
                    "FAIL",
                    f"masking policies are not available ({error.message}): the {spec.name} needs "
                    "Enterprise Edition or higher for PII masking",
                )
            )

    grants = read(f"SHOW GRANTS TO ROLE {_quoted(settings.role)}")
    on_account = {_text(g, "privilege") for g in grants if _text(g, "granted_on") == "ACCOUNT"}
    missing = [p for p in spec.account_privileges if p not in on_account]
    if missing:
        findings.append(
            Finding(
                "FAIL",
                f"{settings.role} lacks {', '.join(missing)} on the account "
                f"({spec.bootstrap_script} grants them)",
            )
        )
    elif spec.account_privileges:
        findings.append(
            Finding("ok", f"{settings.role} holds {', '.join(spec.account_privileges)} on the account")
        )
    extra = sorted(on_account & _TOO_POWERFUL_PRIVILEGES)
    held_roles = {_text(g, "name") for g in grants if _text(g, "granted_on") == "ROLE"}
    lacking = [role for role in spec.held_roles if role not in held_roles]
    if lacking:
        findings.append(
            Finding(
                "FAIL",
                f"{settings.role} is not granted {', '.join(lacking)} ({spec.bootstrap_script} grants it)",
            )
        )
    elif spec.held_roles:
        findings.append(Finding("ok", f"{settings.role} holds the role {', '.join(spec.held_roles)}"))
    powerful = sorted(held_roles & _TOO_POWERFUL_ROLES)
    if extra or powerful or settings.role in _TOO_POWERFUL_ROLES:
        findings.append(
            Finding(
                "warn",
                f"{settings.role} holds more than the {spec.name} needs: "
                + ", ".join(
                    [*extra, *powerful, *([settings.role] if settings.role in _TOO_POWERFUL_ROLES else [])]
                ),
            )
        )
    if settings.role not in _TOO_POWERFUL_ROLES:
        parents = {_text(g, "grantee_name") for g in read(f"SHOW GRANTS OF ROLE {_quoted(settings.role)}")}
        if "SYSADMIN" in parents:
            findings.append(Finding("ok", f"{settings.role} rolls up to SYSADMIN"))
        else:
            findings.append(
                Finding(
                    "warn",
                    f"{settings.role} is not granted to SYSADMIN: system administrators cannot manage "
                    "the objects it owns",
                )
            )
    return findings
