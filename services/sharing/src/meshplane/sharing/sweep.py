"""Which replica sweeps which products, and the loop that sweeps them.

Expiry and retirement are revoked without anyone asking, and exactly once across replicas: each
product's ledger entry lives on one partition of ``mesh.sharing-ledger``, and the replica that owns
that partition in the consumer group ``<group>-sweep`` sweeps the product. Kafka's group protocol
decides ownership (the same one that splits input partitions), so a replica that dies hands its
products to another within the session timeout, and the new owner sweeps at once on assignment
(what was overdue while nobody owned it, or while the service was down, goes first).

The consumer reads nothing: its partitions are paused as soon as they are assigned (the ledger's
content comes from :class:`~meshplane.sharing.ledger_topic.LedgerReader`, which reads every
partition); it polls only to stay in the group, and keeps polling while a sweep runs (a sweep is a
task of its own), so a long sweep never costs the membership. When partitions are taken away the
sweep in flight is cancelled before the rebalance completes (aiokafka awaits the listener), so two
replicas never sweep the same product; what it left half-done, the new owner finds again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Final

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition

from meshplane.common.settings import KafkaSettings

__all__ = ["Sweeper"]

log = logging.getLogger(__name__)

_POLL_MS: Final = 500

#: Sweeps the products of the given ledger partitions (of how many the topic has); returns what it did.
Sweep = Callable[[frozenset[int], int | None], Awaitable[int]]


class _Assignments(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka ships no type hints
    def __init__(self, sweeper: Sweeper) -> None:
        self._sweeper = sweeper

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        await self._sweeper.revoked()

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        self._sweeper.assigned(assigned)


class Sweeper:
    name = "sweep"

    def __init__(
        self,
        kafka: KafkaSettings,
        *,
        client_id: str,
        group_id: str,
        topic: str,
        interval: float,
        sweep: Sweep,
    ) -> None:
        self._kafka = kafka
        self._client_id = client_id
        self._group_id = group_id
        self._topic = topic
        self._interval = interval
        self._sweep = sweep
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._sweeping: asyncio.Task[None] | None = None
        self._now = asyncio.Event()
        #: The ledger partitions this replica sweeps.
        self.partitions: frozenset[int] = frozenset()
        self.sweeps = 0

    async def revoked(self) -> None:
        """Partitions are being taken away: stop sweeping them before anyone else starts."""
        self.partitions = frozenset()
        await self._stop_sweeping()

    async def _stop_sweeping(self) -> None:
        sweeping, self._sweeping = self._sweeping, None
        if sweeping is not None and not sweeping.done():
            sweeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeping

    def assigned(self, partitions: list[TopicPartition]) -> None:
        self.partitions = frozenset(tp.partition for tp in partitions)
        if self._consumer is not None and partitions:
            self._consumer.pause(*partitions)
        self._now.set()  # a new owner sweeps at once: what is overdue goes first

    async def start(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._kafka.bootstrap_servers,
            client_id=self._client_id,
            group_id=self._group_id,
            enable_auto_commit=False,
            request_timeout_ms=self._kafka.request_timeout_ms,
            metadata_max_age_ms=5000,
        )
        await consumer.start()
        consumer.subscribe([self._topic], listener=_Assignments(self))
        self._consumer = consumer
        self._task = asyncio.create_task(self._run(), name=f"sweep {self._topic}")

    async def stop(self) -> None:
        await self._stop_sweeping()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            await consumer.stop()

    async def ready(self) -> bool:
        return self._task is not None and not self._task.done()

    async def caught_up(self) -> None:
        return None  # a sweep is no state another replica writes

    async def _run(self) -> None:
        consumer = self._consumer
        assert consumer is not None
        last = time.monotonic()
        while True:
            try:
                await consumer.getmany(timeout_ms=_POLL_MS)  # keeps the membership; partitions are paused
            except Exception:
                # Kafka unreachable for a moment: the group's session decides whether we stay a member.
                log.exception("the sweep's consumer failed to poll; trying again")
                await asyncio.sleep(1.0)
                continue
            idle = self._sweeping is None or self._sweeping.done()
            if idle and (self._now.is_set() or time.monotonic() - last >= self._interval):
                self._now.clear()
                last = time.monotonic()
                if self.partitions:
                    count = consumer.partitions_for_topic(self._topic)
                    self._sweeping = asyncio.create_task(
                        self._sweep_once(self.partitions, len(count) if count else None), name="sweep"
                    )

    async def _sweep_once(self, partitions: frozenset[int], partition_count: int | None) -> None:
        try:
            ended = await self._sweep(partitions, partition_count)
        except asyncio.CancelledError:
            raise
        except Exception:
            # The next sweep finds the same grants again; nothing is lost by waiting.
            log.exception("a sweep of ledger partitions %s failed", sorted(partitions))
            return
        self.sweeps += 1
        if ended:
            log.info("swept %d grants from ledger partitions %s", ended, sorted(partitions))
