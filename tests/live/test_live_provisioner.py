"""The provisioner's plans, the gateway's request counting and error reading, on a real Snowflake account."""

from __future__ import annotations

import pytest

from meshplane.common.snowflake.errors import PermanentSnowflakeError
from meshplane.common.snowflake.gateway import SnowflakeGateway
from meshplane.common.snowflake.identifiers import quote_identifier
from meshplane.common.snowflake.settings import SnowflakeSettings
from meshplane.common.snowflake.statements import Plan, Statement
from meshplane.meshctl.doctor import diagnose
from meshplane.provisioner.observe import observe
from meshplane.provisioner.plan import plan_product_created, plan_product_retired
from meshplane.provisioner.service import SERVICE
from tests.unit.provisioner.contracts import contract

TAG = "meshplane-live-tests"


def test_the_account_is_ready_for_the_provisioner(settings: SnowflakeSettings) -> None:
    findings = diagnose(SERVICE, settings)
    assert not [f.line() for f in findings if f.level == "FAIL"], [f.line() for f in findings]


async def test_a_product_is_provisioned_observed_and_retired(gateway: SnowflakeGateway, domain: str) -> None:
    mesh = contract(domain)
    observed, _ = await observe(gateway, domain, "orders", 1, query_tag=TAG)
    assert (observed.domain_ready, observed.product_schema_exists) == (False, False)
    result = await gateway.execute(
        plan_product_created(mesh, observed, service_role=gateway_role(gateway)), TAG
    )
    assert all(result.query_ids)
    assert result.http_requests == 2  # the plan, and the one result the connector fetches itself
    after, _ = await observe(gateway, domain, "orders", 1, query_tag=TAG)
    assert (after.domain_ready, after.product_schema_exists, after.reader_role_exists) == (True, True, True)
    # The session is back on the provisioner's own warehouse after creating the domain's.
    (row,) = await gateway.query(Statement("SELECT CURRENT_WAREHOUSE() AS WH"))
    assert row["WH"] == gateway_warehouse(gateway)
    retired = plan_product_retired(domain, "orders", 1, after, service_role=gateway_role(gateway))
    await gateway.execute(retired, TAG)
    final, _ = await observe(gateway, domain, "orders", 1, query_tag=TAG)
    assert final.reader_role_exists is False


async def test_a_failing_statement_in_a_plan_is_named_and_read(
    gateway: SnowflakeGateway, domain: str
) -> None:
    database = quote_identifier(domain.upper())
    plan = Plan.of(
        "fails in the middle",
        Statement(f"CREATE DATABASE IF NOT EXISTS {database}"),
        Statement(
            f"CREATE SCHEMA {quote_identifier('NO_SUCH_DB_' + domain.upper())}.{quote_identifier('S')}"
        ),
        Statement(f"COMMENT ON DATABASE {database} IS %(c)s", {"c": "never"}),
    )
    with pytest.raises(PermanentSnowflakeError) as caught:
        await gateway.execute(plan, TAG)
    assert caught.value.errno == 100132
    assert caught.value.statement_index == 1
    assert "does not exist or not authorized" in caught.value.message


def gateway_role(gateway: SnowflakeGateway) -> str:
    return gateway.settings.role


def gateway_warehouse(gateway: SnowflakeGateway) -> str:
    return gateway.settings.warehouse
