"""The provisioner's identity on snowlocal: bootstrap.sql run once per session, a gateway per test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import snowflake.connector

from meshplane.common.snowflake.gateway import SnowflakeGateway
from meshplane.common.snowflake.settings import SnowflakeSettings
from meshplane.devstack.bootstrap import bootstrap_provisioner
from meshplane.devstack.endpoints import SnowlocalEndpoint
from tests.integration.snowlocal.conftest import Sandbox


@pytest.fixture(scope="session")
def provisioner_settings(snowlocal_endpoint: SnowlocalEndpoint) -> SnowflakeSettings:
    values = bootstrap_provisioner(snowlocal_endpoint)
    assert bootstrap_provisioner(snowlocal_endpoint) == values  # idempotent
    return SnowflakeSettings(**values)  # type: ignore[arg-type]


class CountingConnect:
    """Wraps ``snowflake.connector.connect``; counts the requests that run SQL (``cursor.execute``
    calls) and every HTTP request the connector sends through its REST client after login."""

    def __init__(self) -> None:
        self.requests = 0
        self.http = 0

    def __call__(self, **kwargs: Any) -> Any:
        connection = snowflake.connector.connect(**kwargs)
        counter = self
        original = connection.cursor
        rest = connection.rest
        assert rest is not None
        rest_request = rest.request

        def counted_request(*args: Any, **kw: Any) -> Any:
            counter.http += 1
            return rest_request(*args, **kw)

        rest.request = counted_request  # type: ignore[method-assign]

        def cursor(*args: Any, **kw: Any) -> Any:
            cur = original(*args, **kw)
            execute = cur.execute

            def counted(*a: Any, **k: Any) -> Any:
                counter.requests += 1
                return execute(*a, **k)

            cur.execute = counted
            return cur

        connection.cursor = cursor  # type: ignore[method-assign]
        return connection


@pytest.fixture
def counting() -> CountingConnect:
    return CountingConnect()


@pytest.fixture
def gateway(provisioner_settings: SnowflakeSettings, counting: CountingConnect) -> Iterator[SnowflakeGateway]:
    gw = SnowflakeGateway(provisioner_settings, connect=counting)
    try:
        yield gw
    finally:
        gw.close()


@pytest.fixture
def sandbox(snowlocal_endpoint: SnowlocalEndpoint) -> Iterator[Sandbox]:
    """snowlocal's ADMIN, to look at what the provisioner did and to make the test's users."""
    box = Sandbox(snowlocal_endpoint)
    try:
        yield box
    finally:
        box.close()
