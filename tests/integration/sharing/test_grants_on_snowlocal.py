"""A domain reads another domain's product once sharing's grant ran, and stops once its revocation ran."""

from __future__ import annotations

import pytest

from meshplane.common.events.access import InternalConsumer
from meshplane.common.layout import product_layout
from meshplane.common.snowflake.gateway import SnowflakeGateway
from meshplane.sharing.plan import plan_grant, plan_revoke
from tests.integration.provisioner.test_plans_on_snowlocal import created, run, unique_domain
from tests.integration.snowlocal.conftest import Sandbox, errno_of, query

pytestmark = pytest.mark.integration

#: Snowflake's "object does not exist or not authorized" (what a reader without the grant sees).
NOT_AUTHORIZED = 2003


async def test_a_grant_lets_the_consumer_domain_read_and_its_revocation_stops_it(
    gateway: SnowflakeGateway, sandbox: Sandbox
) -> None:
    owner, reader = unique_domain(), unique_domain()
    await created(gateway, owner)
    await created(gateway, reader)
    product = product_layout(owner, "orders", 1)
    consumer = InternalConsumer(domain=reader)
    analyst = sandbox.user_with_role(f"{reader.upper()}_CONSUMER")
    select = f'SELECT COUNT(*) FROM "{owner.upper()}"."ORDERS_V1"."ORDER_LINES"'
    assert errno_of(analyst, select) == NOT_AUTHORIZED

    for _ in range(2):  # every plan may run twice
        await run(gateway, plan_grant(product, ("order_lines",), consumer))
    assert query(analyst, select) == [(0,)]
    # The consumer reads the view, never the table behind it.
    assert (
        errno_of(analyst, f'SELECT * FROM "{owner.upper()}"."ORDERS_V1"."ORDER_LINES_DATA"') == NOT_AUTHORIZED
    )

    for _ in range(2):
        await run(gateway, plan_revoke(product, consumer))
    assert errno_of(analyst, select) == NOT_AUTHORIZED
