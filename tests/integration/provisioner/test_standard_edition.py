"""On a Standard Edition account the provisioner refuses its first domain clearly, before any SQL of it."""

from __future__ import annotations

import pytest

from meshplane.common.errors import PermanentError
from meshplane.common.snowflake.gateway import SnowflakeGateway
from meshplane.common.snowflake.settings import SnowflakeSettings
from meshplane.common.snowflake.statements import Statement
from meshplane.devstack.bootstrap import bootstrap_provisioner
from meshplane.devstack.snowlocal import running_snowlocal
from meshplane.provisioner.plan import plan_product_created
from meshplane.provisioner.provisioning import Provisioning
from tests.fakes import StaticCatalog
from tests.unit.provisioner.contracts import contract


async def test_a_standard_edition_account_is_refused_before_the_first_domain_plan() -> None:
    with running_snowlocal(edition="standard") as endpoint:
        settings = SnowflakeSettings(**bootstrap_provisioner(endpoint))  # type: ignore[arg-type]
        gateway = SnowflakeGateway(settings)
        try:
            provisioning = Provisioning(gateway, service_role=settings.role, catalog=StaticCatalog())
            mesh = contract()
            with pytest.raises(PermanentError, match="Enterprise Edition") as refused:
                await provisioning.apply(
                    mesh.domain,
                    mesh.product,
                    mesh.major,
                    lambda observed: plan_product_created(mesh, observed, service_role=settings.role),
                    "tests/standard-edition",
                )
            assert "Unsupported feature 'MASKING POLICY'" in str(refused.value.__cause__)
            # Nothing of the domain was made: the check ran before its plan.
            shown = await gateway.query(Statement("SHOW DATABASES LIKE %(name)s", {"name": "SALES"}))
            assert shown == ()
        finally:
            await gateway.aclose()
