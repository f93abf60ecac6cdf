"""The kit's background parts: a part that cannot start stops the service, and the parts already
running are stopped first (nothing, such as a sweep's group membership, outlives a failed start)."""

from __future__ import annotations

import dataclasses

import pytest

from meshplane.common.messaging import RecordingSink
from meshplane.sharing.service import SERVICE
from tests.fakes import RecordingGateway, StaticCatalog


class Part:
    def __init__(self, name: str, *, fails: bool = False) -> None:
        self.name = name
        self.fails = fails
        self.events: list[str] = []

    async def start(self) -> None:
        if self.fails:
            raise RuntimeError(f"{self.name} cannot start")
        self.events.append("started")

    async def stop(self) -> None:
        self.events.append("stopped")

    async def ready(self) -> bool:
        return True

    async def caught_up(self) -> None:
        return None


async def test_a_part_that_cannot_start_stops_those_already_started() -> None:
    first, second, never = Part("first"), Part("second", fails=True), Part("never")
    spec = dataclasses.replace(SERVICE, background=lambda _deps: (first, second, never))
    service = spec.create_app(
        spec.test_config(), RecordingGateway(), sink=RecordingSink(), catalog=StaticCatalog()
    )

    with pytest.raises(RuntimeError, match="second cannot start"):
        await service.start()

    assert first.events == ["started", "stopped"]
    assert never.events == []
    with pytest.raises(RuntimeError, match="not started"):
        _ = service.health.port  # the probe server was stopped too
