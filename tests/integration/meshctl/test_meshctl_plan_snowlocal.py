"""``meshctl plan`` online: the state is observed in snowlocal with SHOW, and nothing is created."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from meshplane.common.snowflake import Plan, SnowflakeGateway, Statement, quote_identifier
from meshplane.common.snowflake.settings import SnowflakeSettings
from meshplane.devstack.endpoints import SnowlocalEndpoint
from meshplane.meshctl.cli import app

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
SUFFIX = uuid.uuid4().hex[:8]
# Snowflake runs a multi-statement request (observation is one) only with a warehouse in the session.
WAREHOUSE = f"MESHCTL_WH_{SUFFIX.upper()}"

runner = CliRunner()


@pytest.fixture(scope="module")
def snowflake_env(snowlocal_endpoint: SnowlocalEndpoint) -> dict[str, str]:
    login = snowlocal_endpoint.connect_kwargs()
    env = {
        "MESH_SNOWFLAKE_ACCOUNT": login["account"],
        "MESH_SNOWFLAKE_USER": login["user"],
        "MESH_SNOWFLAKE_PASSWORD": login["password"],
        "MESH_SNOWFLAKE_HOST": snowlocal_endpoint.host,
        "MESH_SNOWFLAKE_PORT": str(snowlocal_endpoint.port),
        "MESH_SNOWFLAKE_PROTOCOL": snowlocal_endpoint.protocol,
        "MESH_SNOWFLAKE_ROLE": "ACCOUNTADMIN",
        "MESH_SNOWFLAKE_WAREHOUSE": WAREHOUSE,
    }
    settings = SnowflakeSettings(
        account=env["MESH_SNOWFLAKE_ACCOUNT"],
        user=env["MESH_SNOWFLAKE_USER"],
        password=env["MESH_SNOWFLAKE_PASSWORD"],
        host=snowlocal_endpoint.host,
        port=snowlocal_endpoint.port,
        protocol="https" if snowlocal_endpoint.protocol == "https" else "http",
        role="ACCOUNTADMIN",
        warehouse=WAREHOUSE,
        query_tag="meshctl-tests/bootstrap",
    )
    gateway = SnowflakeGateway(settings)
    try:
        gateway.execute_blocking(
            Plan.of(
                "a warehouse for the meshctl tests",
                Statement(
                    f"CREATE WAREHOUSE IF NOT EXISTS {quote_identifier(WAREHOUSE)} WAREHOUSE_SIZE = XSMALL"
                ),
            ),
            "meshctl-tests/bootstrap",
        )
    finally:
        gateway.close()
    return env


def test_an_online_plan_for_a_new_domain_observes_and_creates_nothing(
    snowflake_env: dict[str, str], tmp_path: Path
) -> None:
    domain = f"t{SUFFIX}"
    document: dict[str, Any] = yaml.safe_load((EXAMPLES / "sales-orders.odcs.yaml").read_text())
    document["domain"] = domain
    path = tmp_path / "contract.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")

    for _ in range(2):  # planning twice sees the same state: the first plan ran nothing
        result = runner.invoke(app, ["plan", str(path)], env=snowflake_env)
        assert result.exit_code == 0, result.output
        lines = result.stdout.splitlines()
        # The tag (meshctl's own), then a request per SHOW: none of them needs a warehouse.
        assert lines[0] == (
            "-- observed with SHOW in 4 request(s), waking no warehouse: domain not set up, schema missing, "
            "reader role missing"
        )
        assert lines[1].startswith(f"-- plan: product.created {domain}.orders v1: set up domain {domain}")
        assert f'CREATE DATABASE IF NOT EXISTS "{domain.upper()}";' in lines
        assert 'GRANT ROLE "' + f'{domain.upper()}_ADMIN" TO ROLE "ACCOUNTADMIN";' in lines
