"""``meshctl doctor`` against snowlocal: a well-made identity passes; what an account lacks is named."""

from __future__ import annotations

import uuid

from typer.testing import CliRunner

from meshplane.devstack.bootstrap import as_environment, bootstrap_provisioner, bootstrap_sharing
from meshplane.devstack.endpoints import SnowlocalEndpoint
from meshplane.devstack.snowlocal import running_snowlocal
from meshplane.meshctl.cli import app
from tests.integration.snowlocal.conftest import Sandbox

runner = CliRunner()


def test_the_bootstrapped_provisioner_identity_passes_every_check(
    snowlocal_endpoint: SnowlocalEndpoint,
) -> None:
    env = as_environment(bootstrap_provisioner(snowlocal_endpoint))
    result = runner.invoke(app, ["doctor"], env=env)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "ok    logged in as MESHPLANE_PROVISIONER_SVC with role MESHPLANE_PROVISIONER"
    assert "ok    masking policies are available (Enterprise Edition or higher)" in lines
    privileges = "CREATE DATABASE, CREATE WAREHOUSE, CREATE ROLE, APPLY MASKING POLICY"
    assert f"ok    MESHPLANE_PROVISIONER holds {privileges} on the account" in lines
    assert "ok    MESHPLANE_PROVISIONER rolls up to SYSADMIN" in lines
    assert "ok    MESHPLANE_PROVISIONER holds the role MESHPLANE_READER_ROLES" in lines
    assert not [line for line in lines if not line.startswith("ok")]


def test_the_bootstrapped_sharing_identity_passes_every_check(snowlocal_endpoint: SnowlocalEndpoint) -> None:
    env = as_environment(bootstrap_sharing(snowlocal_endpoint))
    result = runner.invoke(app, ["doctor", "--service", "sharing"], env=env)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "ok    logged in as MESHPLANE_SHARING_SVC with role MESHPLANE_SHARING"
    assert "ok    MESHPLANE_SHARING holds CREATE SHARE, MANAGE SHARE TARGET on the account" in lines
    assert "ok    MESHPLANE_SHARING holds the role MESHPLANE_READER_ROLES" in lines
    assert not [line for line in lines if not line.startswith("ok")]


def test_a_role_missing_privileges_is_told_which(snowlocal_endpoint: SnowlocalEndpoint) -> None:
    box = Sandbox(snowlocal_endpoint)
    try:
        role, user = box.name("HALF_ROLE"), box.name("HALF_USER")
        for text in (
            f"CREATE ROLE {role}",
            f"GRANT CREATE DATABASE ON ACCOUNT TO ROLE {role}",
            f"GRANT USAGE ON WAREHOUSE {box.warehouse} TO ROLE {role}",
            f"CREATE USER {user} PASSWORD = 'pw' DEFAULT_ROLE = {role}",
            f"GRANT ROLE {role} TO USER {user}",
        ):
            box.sql(text)
        login = snowlocal_endpoint.connect_kwargs()
        env = as_environment(
            {
                "account": login["account"],
                "user": user,
                "password": "pw",
                "host": snowlocal_endpoint.host,
                "port": snowlocal_endpoint.port,
                "protocol": snowlocal_endpoint.protocol,
                "role": role,
                "warehouse": box.warehouse,
            }
        )
        result = runner.invoke(app, ["doctor"], env=env)
    finally:
        box.close()
    assert result.exit_code == 1
    assert (
        f"FAIL  {role} lacks CREATE WAREHOUSE, CREATE ROLE, APPLY MASKING POLICY on the account"
        in result.stdout
    )
    assert (
        f"FAIL  {role} is not granted MESHPLANE_READER_ROLES (deploy/snowflake/bootstrap.sql grants it)"
        in (result.stdout)
    )
    assert f"warn  {role} is not granted to SYSADMIN" in result.stdout
    assert "2 check(s) failed" in result.stderr


def test_a_standard_edition_account_fails_the_edition_check() -> None:
    with running_snowlocal(edition="standard") as endpoint:
        env = as_environment(bootstrap_provisioner(endpoint, password=f"pw-{uuid.uuid4().hex[:6]}"))
        result = runner.invoke(app, ["doctor"], env=env)
    assert result.exit_code == 1
    assert "FAIL  masking policies are not available (Unsupported feature 'MASKING POLICY'.)" in result.stdout
    assert "Enterprise Edition" in result.stdout
