"""``meshctl plan``: the provisioner's plan for a contract, shown and never run."""

from __future__ import annotations

import re
from pathlib import Path
from types import MappingProxyType

import pytest
from typer.testing import CliRunner

from meshplane.meshctl.cli import app
from meshplane.meshctl.contracts import load_contract
from meshplane.meshctl.errors import MeshctlError
from meshplane.meshctl.planning import DEFAULT_SERVICE_ROLE, describe_observed, make_plan
from meshplane.provisioner.observe import NOTHING_EXISTS, Observed

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
SALES = EXAMPLES / "sales-orders.odcs.yaml"

runner = CliRunner()


def test_an_offline_plan_sets_up_the_domain_and_the_product() -> None:
    result = runner.invoke(app, ["plan", str(SALES), "--offline"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith(
        "-- plan: product.created sales.orders v1: set up domain sales, then provision"
    )
    assert 'CREATE DATABASE IF NOT EXISTS "SALES";' in lines
    assert 'GRANT ROLE "SALES_ADMIN" TO ROLE "MESHPLANE_PROVISIONER";' in lines
    assert any("ORDERS_V1" in line for line in lines)
    assert result.stderr == ""


def test_the_offline_default_role_is_the_one_the_bootstrap_creates() -> None:
    bootstrap = (EXAMPLES.parent / "deploy" / "snowflake" / "bootstrap.sql").read_text()
    assert re.search(rf"^CREATE ROLE IF NOT EXISTS {DEFAULT_SERVICE_ROLE}$", bootstrap, re.MULTILINE)


def test_the_service_role_can_be_named() -> None:
    result = runner.invoke(app, ["plan", str(SALES), "--offline", "--service-role", "platform_admin"])
    assert result.exit_code == 0, result.output
    assert 'GRANT ROLE "SALES_ADMIN" TO ROLE "PLATFORM_ADMIN";' in result.stdout.splitlines()


def test_an_unsafe_service_role_is_one_line() -> None:
    result = runner.invoke(app, ["plan", str(SALES), "--offline", "--service-role", 'x"; drop'])
    assert result.exit_code == 1
    assert len(result.stderr.splitlines()) == 1, result.stderr


def test_an_offline_update_of_a_new_product_is_planned_like_a_create() -> None:
    result = runner.invoke(app, ["plan", str(SALES), "--offline", "--event", "updated"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("-- plan: product.updated sales.orders v1: set up domain sales")


def test_an_online_plan_without_snowflake_settings_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ACCOUNT", "USER", "ROLE", "WAREHOUSE", "PASSWORD", "PRIVATE_KEY_PATH", "PRIVATE_KEY_PEM"):
        monkeypatch.delenv(f"MESH_SNOWFLAKE_{name}", raising=False)
    result = runner.invoke(app, ["plan", str(SALES)])
    assert result.exit_code == 1
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert "MESH_SNOWFLAKE_" in line
    assert "--offline" in line


def test_a_hostile_contract_is_refused_before_planning(tmp_path: Path) -> None:
    hostile = tmp_path / "hostile.yaml"
    hostile.write_text(SALES.read_text().replace("name: order_id", "name: order_id; drop"), encoding="utf-8")
    result = runner.invoke(app, ["plan", str(hostile), "--offline"])
    assert result.exit_code == 1
    assert "unsafe name" in result.stderr


def test_an_update_that_breaks_readers_is_refused_with_the_reason() -> None:
    contract = load_contract(SALES).mesh
    observed = Observed(
        domain_ready=True,
        product_schema_exists=True,
        columns=MappingProxyType({"ORDER_LINES_DATA": MappingProxyType({"GONE": '{"type":"TEXT"}'})}),
        reader_role_exists=True,
    )
    with pytest.raises(MeshctlError, match="would break readers"):
        make_plan(contract, observed, updated=True, service_role="MESH_PROVISIONER")


def test_an_existing_domain_is_not_set_up_again() -> None:
    contract = load_contract(SALES).mesh
    ready = Observed(
        domain_ready=True, product_schema_exists=False, columns=MappingProxyType({}), reader_role_exists=False
    )
    plan = make_plan(contract, ready, updated=False, service_role="MESH_PROVISIONER")
    assert "set up domain" not in plan.description
    assert len(plan.statements) < len(
        make_plan(contract, NOTHING_EXISTS, updated=False, service_role="MESH_PROVISIONER").statements
    )


def test_observed_state_is_described_in_one_line() -> None:
    assert describe_observed(NOTHING_EXISTS) == "domain not set up, schema missing, reader role missing"
    assert describe_observed(Observed(domain_ready=True)) == (
        "domain ready, schema not observed, reader role not observed"
    )
