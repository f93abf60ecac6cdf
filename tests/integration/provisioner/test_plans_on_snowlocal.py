"""The provisioner's plans on snowlocal, run as the bootstrap user (never ADMIN) through the gateway.

ADMIN only looks (SHOW, SYSTEM$GET_TAG), creates the test's users, and grants a reader role to a
consumer role the way the sharing service will.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from meshplane.common.layout import DOMAIN_READY_MARKER
from meshplane.common.snowflake.errors import PermanentSnowflakeError
from meshplane.common.snowflake.gateway import SnowflakeGateway
from meshplane.common.snowflake.results import PlanResult
from meshplane.common.snowflake.settings import SnowflakeSettings
from meshplane.common.snowflake.statements import Plan, Statement
from meshplane.devstack.bootstrap import PROVISIONER_ROLE
from meshplane.provisioner.observe import ASSUME_DOMAIN_READY, Observed, observe
from meshplane.provisioner.plan import (
    MASKED_STRING,
    BreakingChange,
    plan_product_created,
    plan_product_retired,
    plan_product_updated,
)
from tests.integration.provisioner.conftest import CountingConnect
from tests.integration.snowlocal.conftest import Sandbox, errno_of, query
from tests.unit.provisioner.contracts import DISCOUNT, contract

pytestmark = pytest.mark.integration

TAG = "meshplane-test-provisioner"


def unique_domain() -> str:
    return f"d{uuid.uuid4().hex[:8]}"


def show(sandbox: Sandbox, sql: str) -> list[dict[str, Any]]:
    names, rows = sandbox.sql_with_columns(sql)
    return [dict(zip(names, row, strict=True)) for row in rows]


async def run(gateway: SnowflakeGateway, plan: Plan) -> PlanResult:
    result = await gateway.execute(plan, TAG)
    assert len(result.results) == len(plan)
    return result


async def created(gateway: SnowflakeGateway, domain: str, product: str = "orders") -> Observed:
    observed, _ = await observe(gateway, domain, product, 1, query_tag=TAG)
    await run(
        gateway, plan_product_created(contract(domain, product), observed, service_role=PROVISIONER_ROLE)
    )
    return observed


def snapshot(sandbox: Sandbox, domain: str) -> dict[str, Any]:
    d = domain.upper()
    schema = f'"{d}"."ORDERS_V1"'
    roles = [f"{d}_ADMIN", f"{d}_ENGINEER", f"{d}_CONSUMER", f"{d}__ORDERS_V1_READER", PROVISIONER_ROLE]
    statements = [f'SHOW GRANTS TO ROLE "{r}"' for r in roles]
    statements += [f'SHOW GRANTS OF ROLE "{r}"' for r in roles[:4]]
    statements += [
        f'SHOW GRANTS ON DATABASE "{d}"',
        f"SHOW GRANTS ON SCHEMA {schema}",
        f'SHOW GRANTS ON TABLE {schema}."ORDER_LINES_DATA"',
        f'SHOW GRANTS ON VIEW {schema}."ORDER_LINES"',
        f'SHOW GRANTS ON WAREHOUSE "{d}_WH"',
        f"SHOW FUTURE GRANTS IN SCHEMA {schema}",
        f"SHOW DATABASES LIKE '{d}'",
        f'SHOW SCHEMAS IN DATABASE "{d}"',
        f"SHOW TABLES IN SCHEMA {schema}",
        f"SHOW VIEWS IN SCHEMA {schema}",
        f"SHOW COLUMNS IN SCHEMA {schema}",
        f'SHOW TAGS IN SCHEMA "{d}"."GOVERNANCE"',
        f'SHOW MASKING POLICIES IN SCHEMA "{d}"."GOVERNANCE"',
        f"SHOW WAREHOUSES LIKE '{d}_WH'",
        f"SHOW ROLES LIKE '{d}%'",
    ]
    return {sql: sandbox.sql(sql) for sql in statements}


async def test_a_new_domain_gets_its_objects_owners_grants_tags_and_masking(
    gateway: SnowflakeGateway, counting: CountingConnect, sandbox: Sandbox
) -> None:
    domain = unique_domain()
    d = domain.upper()
    http_before = counting.http
    observed, cost = await observe(gateway, domain, "orders", 1, query_tag=TAG)
    assert (observed.domain_ready, observed.product_schema_exists) == (False, False)
    # What the gateway says it cost is what the connector sent: a request per SHOW (and the tag).
    assert cost.http == counting.http - http_before == cost.round_trips
    assert cost.round_trips in (3, 4)

    before, http_before = counting.requests, counting.http
    result = await run(
        gateway, plan_product_created(contract(domain), observed, service_role=PROVISIONER_ROLE)
    )
    assert counting.requests - before == 1
    # 72 statements: the request, and the one result the connector fetches by itself.
    assert result.http_requests == counting.http - http_before == 2
    assert all(result.query_ids)
    after, _ = await observe(gateway, domain, "orders", 1, query_tag=TAG)
    assert after.domain_ready
    assert after.product_schema_exists
    assert after.reader_role_exists

    admin = f"{d}_ADMIN"
    (database,) = show(sandbox, f"SHOW DATABASES LIKE '{d}'")
    assert database["owner"] == admin
    assert DOMAIN_READY_MARKER in database["comment"]
    schemas = {s["name"]: s for s in show(sandbox, f'SHOW SCHEMAS IN DATABASE "{d}"')}
    assert schemas["ORDERS_V1"]["owner"] == admin
    assert schemas["ORDERS_V1"]["options"] == "MANAGED ACCESS"
    assert schemas["GOVERNANCE"]["owner"] == admin
    (warehouse,) = show(sandbox, f"SHOW WAREHOUSES LIKE '{d}_WH'")
    assert warehouse["owner"] == admin
    assert warehouse["state"] == "SUSPENDED"
    (table,) = show(sandbox, f'SHOW TABLES IN SCHEMA "{d}"."ORDERS_V1"')
    assert (table["name"], table["owner"]) == ("ORDER_LINES_DATA", admin)
    (view,) = show(sandbox, f'SHOW VIEWS IN SCHEMA "{d}"."ORDERS_V1"')
    assert (view["name"], view["owner"], view["is_secure"]) == ("ORDER_LINES", admin, "true")
    assert view["comment"] == "One row per order line."
    reader = f"{d}__ORDERS_V1_READER"
    grants = {
        (g["privilege"], g["granted_on"], g["name"]) for g in show(sandbox, f'SHOW GRANTS TO ROLE "{reader}"')
    }
    assert grants == {
        ("USAGE", "DATABASE", d),
        ("USAGE", "SCHEMA", f"{d}.ORDERS_V1"),
        ("SELECT", "VIEW", f"{d}.ORDERS_V1.ORDER_LINES"),
    }
    holders = {(g["granted_to"], g["grantee_name"]) for g in show(sandbox, f'SHOW GRANTS OF ROLE "{admin}"')}
    assert holders == {("ROLE", PROVISIONER_ROLE)}
    assert {g["grantee_name"] for g in show(sandbox, f'SHOW GRANTS OF ROLE "{d}_ENGINEER"')} == {admin}
    assert {g["grantee_name"] for g in show(sandbox, f'SHOW GRANTS OF ROLE "{d}_CONSUMER"')} == {
        f"{d}_ENGINEER"
    }

    def tag(name: str, target: str, domain_kind: str) -> Any:
        return sandbox.sql(f"SELECT SYSTEM$GET_TAG('{d}.GOVERNANCE.{name}', '{target}', '{domain_kind}')")[0][
            0
        ]

    assert tag("CLASSIFICATION", f"{d}.ORDERS_V1.ORDER_LINES_DATA.CUSTOMER_EMAIL", "COLUMN") == "pii"
    assert tag("CLASSIFICATION", f"{d}.ORDERS_V1.ORDER_LINES_DATA.AMOUNT_EUR", "COLUMN") == "internal"
    assert tag("PRODUCT", f"{d}.ORDERS_V1", "SCHEMA") == "orders"
    assert tag("LIFECYCLE", f"{d}.ORDERS_V1", "SCHEMA") == "active"
    assert tag("DOMAIN", d, "DATABASE") == domain

    # Masking: the domain's engineers read clear; those who administer the objects, and a consumer
    # of another domain, read pii masked.
    engineer = sandbox.user_with_role(f"{d}_ENGINEER")
    query(
        engineer,
        f'INSERT INTO "{d}"."ORDERS_V1"."ORDER_LINES_DATA" VALUES '
        "(1, 1, 'ada@example.com', 'Ada Lovelace', 12.50, '2024-05-01 10:00:00')",
    )
    select = f'SELECT CUSTOMER_EMAIL, CUSTOMER_NAME, AMOUNT_EUR FROM "{d}"."ORDERS_V1"."ORDER_LINES"'
    assert query(engineer, select)[0][:2] == ("ada@example.com", "Ada Lovelace")
    for above in (admin, PROVISIONER_ROLE, "SYSADMIN", "ACCOUNTADMIN"):
        assert query(sandbox.user_with_role(above), select)[0][:2] == (MASKED_STRING, MASKED_STRING), above

    other = unique_domain()
    await created(gateway, other)
    sandbox.sql(f'GRANT ROLE "{reader}" TO ROLE "{other.upper()}_CONSUMER"')
    consumer = sandbox.user_with_role(f"{other.upper()}_CONSUMER")
    email, name, amount = query(consumer, select)[0]
    assert (email, name) == (MASKED_STRING, MASKED_STRING)
    assert float(amount) == 12.5
    assert errno_of(consumer, f'SELECT * FROM "{d}"."ORDERS_V1"."ORDER_LINES_DATA"') == 2003


async def test_the_same_plan_twice_changes_nothing(gateway: SnowflakeGateway, sandbox: Sandbox) -> None:
    domain = unique_domain()
    observed = await created(gateway, domain)
    first = snapshot(sandbox, domain)
    # The whole plan again, domain setup included, as after a crash before the offset commit.
    await run(gateway, plan_product_created(contract(domain), observed, service_role=PROVISIONER_ROLE))
    assert snapshot(sandbox, domain) == first
    # And the product plan alone, as the handler runs it for a domain it knows.
    await run(
        gateway, plan_product_created(contract(domain), ASSUME_DOMAIN_READY, service_role=PROVISIONER_ROLE)
    )
    assert snapshot(sandbox, domain) == first


async def test_a_second_product_in_a_ready_domain_takes_one_round_trip(
    gateway: SnowflakeGateway, counting: CountingConnect, sandbox: Sandbox
) -> None:
    domain = unique_domain()
    await created(gateway, domain)
    before = counting.requests
    plan = plan_product_created(
        contract(domain, "refunds"), ASSUME_DOMAIN_READY, service_role=PROVISIONER_ROLE
    )
    await run(gateway, plan)
    assert counting.requests - before == 1
    names = {s["name"] for s in show(sandbox, f'SHOW SCHEMAS IN DATABASE "{domain.upper()}"')}
    assert {"ORDERS_V1", "REFUNDS_V1"} <= names
    assert show(sandbox, f"SHOW ROLES LIKE '{domain.upper()}__REFUNDS_V1_READER'")


async def test_an_update_adds_a_column_and_readers_keep_the_view(
    gateway: SnowflakeGateway, counting: CountingConnect, sandbox: Sandbox
) -> None:
    domain = unique_domain()
    d = domain.upper()
    await created(gateway, domain)
    updated = contract(domain, extra_columns=[DISCOUNT])
    observed, cost = await observe(gateway, domain, "orders", 1, query_tag=TAG)
    assert cost.round_trips == 4  # the schema exists, so its columns are read too
    assert observed.columns is not None
    assert "DISCOUNT_EUR" not in observed.columns["ORDER_LINES_DATA"]
    await run(gateway, plan_product_updated(updated, observed, service_role=PROVISIONER_ROLE))

    columns = {
        (c["table_name"], c["column_name"])
        for c in show(sandbox, f'SHOW COLUMNS IN SCHEMA "{d}"."ORDERS_V1"')
    }
    assert {("ORDER_LINES_DATA", "DISCOUNT_EUR"), ("ORDER_LINES", "DISCOUNT_EUR")} <= columns
    on_view = {
        g["grantee_name"] for g in show(sandbox, f'SHOW GRANTS ON VIEW "{d}"."ORDERS_V1"."ORDER_LINES"')
    }
    assert f"{d}__ORDERS_V1_READER" in on_view
    (view,) = show(sandbox, f'SHOW VIEWS IN SCHEMA "{d}"."ORDERS_V1"')
    assert view["owner"] == f"{d}_ADMIN"
    classification = sandbox.sql(
        f"SELECT SYSTEM$GET_TAG('{d}.GOVERNANCE.CLASSIFICATION', "
        f"'{d}.ORDERS_V1.ORDER_LINES_DATA.DISCOUNT_EUR', 'COLUMN')"
    )[0][0]
    assert classification == "restricted"

    # The same update again: observed anew, nothing left to add, and nothing fails.
    again, _ = await observe(gateway, domain, "orders", 1, query_tag=TAG)
    await run(gateway, plan_product_updated(updated, again, service_role=PROVISIONER_ROLE))
    # Removing a column is refused, with the reason, before anything runs.
    with pytest.raises(BreakingChange, match="CUSTOMER_NAME"):
        plan_product_updated(
            contract(domain, drop_columns=("customer_name",)), again, service_role=PROVISIONER_ROLE
        )


async def test_retire_drops_the_reader_keeps_the_data_and_can_run_again(
    gateway: SnowflakeGateway, sandbox: Sandbox
) -> None:
    domain = unique_domain()
    d = domain.upper()
    reader = f"{d}__ORDERS_V1_READER"
    await created(gateway, domain)
    other = unique_domain()
    await created(gateway, other)
    sandbox.sql(f'GRANT ROLE "{reader}" TO ROLE "{other.upper()}_CONSUMER"')

    observed, _ = await observe(gateway, domain, "orders", 1, query_tag=TAG)
    assert observed.reader_role_exists
    await run(gateway, plan_product_retired(domain, "orders", 1, observed, service_role=PROVISIONER_ROLE))
    assert not show(sandbox, f"SHOW ROLES LIKE '{reader}'")
    assert {s["name"] for s in show(sandbox, f'SHOW SCHEMAS IN DATABASE "{d}"')} >= {"ORDERS_V1"}
    assert show(sandbox, f'SHOW TABLES IN SCHEMA "{d}"."ORDERS_V1"')
    lifecycle = sandbox.sql(f"SELECT SYSTEM$GET_TAG('{d}.GOVERNANCE.LIFECYCLE', '{d}.ORDERS_V1', 'SCHEMA')")
    assert lifecycle[0][0] == "retired"

    again, _ = await observe(gateway, domain, "orders", 1, query_tag=TAG)
    assert again.reader_role_exists is False
    await run(gateway, plan_product_retired(domain, "orders", 1, again, service_role=PROVISIONER_ROLE))
    await run(
        gateway, plan_product_retired(domain, "orders", 1, ASSUME_DOMAIN_READY, service_role=PROVISIONER_ROLE)
    )


def test_the_bootstrap_role_holds_only_what_it_needs(
    provisioner_settings: SnowflakeSettings, sandbox: Sandbox
) -> None:
    grants = {
        (g["privilege"], g["granted_on"], g["name"])
        for g in show(sandbox, f"SHOW GRANTS TO ROLE {PROVISIONER_ROLE}")
    }
    account = {(p, on) for p, on, _ in grants if on == "ACCOUNT"}
    assert account == {
        ("CREATE DATABASE", "ACCOUNT"),
        ("CREATE WAREHOUSE", "ACCOUNT"),
        ("CREATE ROLE", "ACCOUNT"),
        ("APPLY MASKING POLICY", "ACCOUNT"),
    }
    assert ("USAGE", "WAREHOUSE", "MESHPLANE_PROVISIONER_WH") in grants
    held = {g["grantee_name"] for g in show(sandbox, f"SHOW GRANTS OF ROLE {PROVISIONER_ROLE}")}
    assert "SYSADMIN" in held  # it rolls up to SYSADMIN
    # No system role is granted to it (SHOW GRANTS TO ROLE lists the roles it holds as USAGE ON ROLE).
    assert not {name for p, on, name in grants if on == "ROLE"} & {
        "ACCOUNTADMIN",
        "SECURITYADMIN",
        "SYSADMIN",
        "USERADMIN",
    }
    (warehouse,) = show(sandbox, "SHOW WAREHOUSES LIKE 'MESHPLANE_PROVISIONER_WH'")
    # Created suspended; a multi-statement request (a plan) resumes it, and it suspends itself
    # after a minute idle. Observation never wakes it (a request per SHOW).
    assert (warehouse["auto_suspend"], warehouse["auto_resume"]) == (60, "true")


async def test_the_bootstrap_role_cannot_grant_what_it_does_not_own(
    gateway: SnowflakeGateway, sandbox: Sandbox
) -> None:
    foreign = sandbox.name("FOREIGN")
    sandbox.sql(f"CREATE DATABASE {foreign}")
    sandbox.sql(f"CREATE ROLE {foreign}_R")
    with pytest.raises(PermanentSnowflakeError):
        await gateway.execute(
            Plan.of("x", Statement(f'GRANT USAGE ON DATABASE "{foreign}" TO ROLE "{foreign}_R"')), TAG
        )
    with pytest.raises(PermanentSnowflakeError):
        await gateway.execute(
            Plan.of("x", Statement(f'GRANT ROLE "ACCOUNTADMIN" TO ROLE "{PROVISIONER_ROLE}"')), TAG
        )


async def test_observing_wakes_no_warehouse_and_a_plan_does(
    gateway: SnowflakeGateway, sandbox: Sandbox
) -> None:
    domain = unique_domain()

    def state() -> str:
        (warehouse,) = show(sandbox, "SHOW WAREHOUSES LIKE 'MESHPLANE_PROVISIONER_WH'")
        return str(warehouse["state"])

    if state() == "STARTED":  # an earlier test's plan woke it (suspending a suspended one is an error)
        sandbox.sql("ALTER WAREHOUSE MESHPLANE_PROVISIONER_WH SUSPEND")

    observed, _ = await observe(gateway, domain, "orders", 1, query_tag=TAG)
    assert state() == "SUSPENDED"  # SHOW is metadata: one request each, no warehouse
    await run(gateway, plan_product_created(contract(domain), observed, service_role=PROVISIONER_ROLE))
    assert state() == "STARTED"  # a multi-statement request needs one, and resumes it
