"""Access request → grant in Snowflake, end to end, at a steady rate: its latency p50 / p99.

The real parts: a Kafka broker, snowlocal, Open Policy Agent serving ``deploy/policies``, and the
provisioner and sharing running in this process on their bootstrap identities. Five consumer
domains and one owner domain are provisioned first (each domain's consumer role must exist); then
``REQUESTS`` access requests for the owner's internal product (approved by the policy) are
published at each of ``RATES`` per second in turn, round-robin over the consumers. A request's
latency runs from just before it is sent to when its ``access.granted`` audit event is read back
from ``mesh.audit``: the policy decision, the GRANT on snowlocal, the ledger record and the audit
event, acknowledged.

A warm-up request per consumer (not counted) opens the sessions first. Writes
bench/results/sharing_flow.json and prints a summary.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import statistics
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from open_data_contract_standard.model import OpenDataContractStandard

from meshplane.common.events import (
    AUDIT_TOPIC,
    AccessRequested,
    InternalConsumer,
    ProductCreated,
    domain_topic,
    encode,
)
from meshplane.common.settings import PolicySettings, RetrySettings
from meshplane.common.snowflake.gateway import SnowflakeGateway
from meshplane.devstack.bootstrap import bootstrap_provisioner, bootstrap_sharing
from meshplane.devstack.kafka import broker_for_run, machine
from meshplane.devstack.opa import running_opa
from meshplane.devstack.snowlocal import running_snowlocal
from meshplane.provisioner.service import SERVICE as PROVISIONER
from meshplane.sharing.service import SERVICE as SHARING

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "sharing_flow.json"
EXAMPLE = ROOT / "examples" / "marketing-campaigns.odcs.yaml"
CONSUMERS = 5
REQUESTS = 150
RATES = (5.0, 20.0)  # requests per second: a steady trickle, then more than one partition's worth


def product(domain: str, name: str) -> ProductCreated:
    odcs = OpenDataContractStandard.from_file(str(EXAMPLE))
    return ProductCreated(
        contract=odcs.model_copy(update={"domain": domain, "dataProduct": name, "id": name})
    )


class AuditWatch:
    """Reads mesh.audit from now on, noting when each awaited fact arrives."""

    def __init__(self, bootstrap: str) -> None:
        self.consumer = AIOKafkaConsumer(
            AUDIT_TOPIC, bootstrap_servers=bootstrap, auto_offset_reset="latest", enable_auto_commit=False
        )
        self.seen: dict[tuple[str, str], float] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.consumer.start()
        await self.consumer.seek_to_end()
        self._task = asyncio.create_task(self._read())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        await self.consumer.stop()

    async def _read(self) -> None:
        while True:
            for messages in (await self.consumer.getmany(timeout_ms=100)).values():
                arrived = time.perf_counter()
                for message in messages:
                    kind = (dict(message.headers).get("ce_type") or b"").decode()
                    data = json.loads(message.value)
                    key = data.get("request_id") or f"{data.get('domain')}.{data.get('product')}"
                    self.seen.setdefault((kind, str(key)), arrived)

    async def wait(self, kind: str, key: str, within: float = 120.0) -> float:
        deadline = time.monotonic() + within
        while (kind, key) not in self.seen:
            if time.monotonic() > deadline:
                raise SystemExit(f"no {kind} for {key} within {within} s")
            await asyncio.sleep(0.02)
        return self.seen[(kind, key)]


async def measure(
    bootstrap: str, snowflake: dict[str, Any], sharing_snowflake: dict[str, Any], opa: str
) -> dict[str, Any]:
    prefix = f"b{secrets.token_hex(3)}"
    owner = f"{prefix}_owner"
    consumers = [f"{prefix}_c{i}" for i in range(CONSUMERS)]
    retry = RetrySettings(initial_seconds=0.2, max_seconds=2.0, budget_seconds=60.0)
    provisioner = PROVISIONER.create_app(
        cfg := PROVISIONER.test_config(
            snowflake=snowflake,
            bootstrap_servers=bootstrap,
            group_id=f"p-{prefix}",
            domains=f"{prefix}_[a-z0-9_]*",
            retry=retry,
        ),
        SnowflakeGateway(cfg.snowflake),
    )
    sharing = SHARING.create_app(
        scfg := SHARING.test_config(
            snowflake=sharing_snowflake,
            bootstrap_servers=bootstrap,
            group_id=f"s-{prefix}",
            domains=f"{prefix}_[a-z0-9_]*",
            retry=retry,
            ledger_topic=f"mesh.sharing-ledger-{prefix}",
            policy=PolicySettings(url=opa),
        ),
        SnowflakeGateway(scfg.snowflake),
    )
    watch = AuditWatch(bootstrap)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await watch.start()
    await producer.start()
    await provisioner.start()
    await sharing.start()

    async def send(domain: str, event: Any) -> None:
        record = encode(
            event,
            topic=domain_topic(domain, "access" if isinstance(event, AccessRequested) else "product"),
            source="/bench",
        )
        await producer.send_and_wait(record.topic, record.value, key=record.key, headers=list(record.headers))

    def ask(request_id: str, consumer: str) -> AccessRequested:
        return AccessRequested(
            request_id=request_id,
            domain=owner,
            product="campaigns",
            major=1,
            requester=consumer,
            consumer=InternalConsumer(domain=consumer),
            purpose="benchmark",
            duration=timedelta(days=1),
        )

    try:
        for domain in (owner, *consumers):
            await send(domain, product(domain, "campaigns"))
        for domain in (owner, *consumers):
            await watch.wait("mesh.audit.product.provisioned.v1", f"{domain}.campaigns", within=300)
        for i, consumer in enumerate(consumers):  # warm-up: sessions open, topics found
            await send(consumer, ask(f"{prefix}-warm-{i}", consumer))
            await watch.wait("mesh.audit.access.granted.v1", f"{prefix}-warm-{i}")
        runs = {}
        for rate in RATES:
            sent: dict[str, float] = {}
            began = time.perf_counter()
            for n in range(REQUESTS):
                await asyncio.sleep(max(0.0, began + n / rate - time.perf_counter()))
                consumer = consumers[n % CONSUMERS]
                request_id = f"{prefix}-{rate:g}-{n}"
                sent[request_id] = time.perf_counter()
                await send(consumer, ask(request_id, consumer))
            latencies = [
                (await watch.wait("mesh.audit.access.granted.v1", request_id)) - at
                for request_id, at in sent.items()
            ]
            runs[f"{rate:g}_per_second"] = summary(latencies, time.perf_counter() - began)
    finally:
        await sharing.stop()
        await provisioner.stop()
        await producer.stop()
        await watch.stop()
    return {"requests_per_rate": REQUESTS, "consumers": CONSUMERS, "runs": runs}


def summary(latencies: list[float], elapsed: float) -> dict[str, Any]:
    ordered = sorted(latencies)

    def pct(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)

    return {
        "p50_ms": pct(0.50),
        "p90_ms": pct(0.90),
        "p99_ms": pct(0.99),
        "max_ms": round(ordered[-1] * 1000, 1),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 1),
        "grants_per_second": round(len(ordered) / elapsed, 2),
    }


def main() -> None:
    report: dict[str, Any] = {
        "what": (
            "access.requested published -> access.granted read back (policy on OPA, GRANT ROLE on snowlocal, "
            "ledger record and audit acknowledged), at a steady rate"
        ),
        "machine": machine(),
    }
    with broker_for_run() as (bootstrap, which), running_snowlocal() as endpoint, running_opa() as opa:
        report["kafka"] = which
        sharing_settings = bootstrap_sharing(endpoint)
        settings = bootstrap_provisioner(endpoint)
        report["flow"] = asyncio.run(measure(bootstrap, settings, sharing_settings, opa))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    for rate, run in report["flow"]["runs"].items():
        print(
            f"request -> grant at {rate}: p50 {run['p50_ms']} ms, p99 {run['p99_ms']} ms, "
            f"max {run['max_ms']} ms; {run['grants_per_second']} grants/s"
        )


if __name__ == "__main__":
    main()
