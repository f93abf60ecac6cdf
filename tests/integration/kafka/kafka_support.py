"""A bounded wait for the Kafka integration tests (imported by the tests; not a test module)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest

# Upper bound for things that take well under a second on a healthy broker. A wait that runs out
# fails the test saying what it waited for; no test asserts how long anything takes.
WAIT_LIMIT_S = 60.0


async def wait_until(
    condition: Callable[[], Awaitable[bool]], what: str, limit: float = WAIT_LIMIT_S
) -> None:
    """Poll ``condition`` until it holds; fail the test naming ``what`` if it does not within ``limit``."""
    deadline = time.monotonic() + limit
    while not await condition():
        if time.monotonic() >= deadline:
            pytest.fail(f"gave up after {limit:.0f}s waiting for {what}")
        await asyncio.sleep(0.05)
