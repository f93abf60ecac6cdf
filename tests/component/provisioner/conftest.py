"""Fixtures of the provisioner's component tests: a recording gateway and sink, an in-memory catalog,
and the real app wired to them."""

from __future__ import annotations

import pytest

from meshplane.common.messaging import RecordingSink
from meshplane.provisioner.service import SERVICE
from tests.component.provisioner.support import ProvisionerApp
from tests.fakes import RecordingGateway, StaticCatalog


@pytest.fixture
def gateway() -> RecordingGateway:
    return RecordingGateway()


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
def catalog() -> StaticCatalog:
    return StaticCatalog()


@pytest.fixture
def service(gateway: RecordingGateway, sink: RecordingSink, catalog: StaticCatalog) -> ProvisionerApp:
    return SERVICE.create_app(SERVICE.test_config(), gateway, sink=sink, catalog=catalog)
