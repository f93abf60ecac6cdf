"""The two kinds of failure a handler may raise, the same in every service (after kopf).

* :class:`TemporaryError` — the work may succeed later: the kit retries it with exponential
  backoff and jitter while the partition waits (at least ``delay`` seconds before the next try,
  when given). When the retry budget is spent the record is handed back to Kafka uncommitted, so
  it is read again, in order.
* :class:`PermanentError` — trying again will fail the same way: the kit asks the service for its
  failure audit event, emits it, commits the offset and moves on.

Any other exception is a bug or a case nobody foresaw. The kit retries it a bounded number of
times (``MESH_RETRY_UNEXPECTED_ATTEMPTS``), since it may be a fluke; then it dead-letters the
record with reason ``handler-error`` and emits the service's failure audit event, so the partition
moves on and the event can be replayed from the dead-letter topic once the cause is fixed.

Snowflake's errors are sorted into these two kinds by the gateway
(:mod:`meshplane.common.snowflake.errors`). This module is the bottom layer of ``libs/common``:
it imports nothing of the mesh.
"""

from __future__ import annotations

__all__ = ["PermanentError", "TemporaryError"]


class TemporaryError(Exception):
    """May succeed if tried again later. ``delay``: the least wait before the next try, if known."""

    def __init__(self, message: str, *, delay: float | None = None) -> None:
        if delay is not None and delay < 0:
            raise ValueError("a retry delay is never negative")
        self.delay = delay
        super().__init__(message)


class PermanentError(Exception):
    """Will fail the same way again: audit it and move on. ``reason`` is for the audit event."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)
