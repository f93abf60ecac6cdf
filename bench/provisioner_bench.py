"""Benchmark: the provisioner against the real broker, and against snowlocal as its bootstrap user.

Starts its own Kafka broker (unless ``KAFKA_BOOTSTRAP_SERVERS`` names one) and its own snowlocal,
and measures in one run:

1. **Throughput.** ``EVENTS`` ``product.created`` events (the sales-orders contract, varied product
   names, ``DOMAINS`` domains, one topic of one partition per domain) are published before any
   consumer starts. The first record of every partition is a warm-up event for that domain, so by
   partition order the provisioner's ready-domain cache holds a domain before any timed event of
   it is taken; warm-up events are left out of the timing. Then, in alternating rounds, each with a
   fresh consumer group over the very same records:

   * the real provisioner app (``SERVICE.create_app``) with a zero-latency gateway
     (``tests.fakes.RecordingGateway``), producing its audit events to ``mesh.audit``;
   * bare aiokafka consume→produce loops over the same topics: for each record one output record
     (the input's value, key and headers) to a topic of one partition, produced with an idempotent
     ``acks=all`` producer like the services' own, and offsets committed only after the output is
     acknowledged. ``per_record``: getone → send, wait for the ack → commit (the provisioner's
     delivery pattern); ``batched``: getmany → send all → wait for all acks → one commit.

   The rate of a round is (n - 1) / (last - first output timestamp), output timestamps being the
   records' CreateTime as set by the producing client, read back from the topic afterwards, over
   the timed events' outputs only. The wall time from start to the last output is reported too.

2. **Round trips** to snowlocal per event, with the real gateway, as the bootstrap user: a product
   in a new domain and a product in a domain already provisioned, from the audit events'
   ``round_trips`` and from the app's ``meshplane_snowflake_round_trips_total`` counter.

3. **Latency** at ``RATE`` events/s against snowlocal: ``LATENCY_EVENTS`` products over existing
   domains; publish time per event id (just before the send) against the time a consumer tailing
   ``mesh.audit`` reads its audit event. Publisher, tailer and provisioner share one event loop
   (the gateway runs the connector in a thread).

Writes bench/results/provisioner.json and prints a summary. ``BENCH_PROFILE=1`` adds a cProfile of
one more provisioner round (top functions by own time) to the results.
"""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import io
import json
import os
import pstats
import secrets
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from open_data_contract_standard.model import OpenDataContractStandard

from meshplane.common.events import AUDIT_TOPIC, KafkaRecord, decode, domain_topic, encode
from meshplane.common.events.product import ProductCreated
from meshplane.common.kit import ServiceApp, ServiceConfig
from meshplane.common.settings import RetrySettings
from meshplane.common.snowflake.gateway import SnowflakeGateway
from meshplane.common.snowflake.ports import SnowflakePort
from meshplane.devstack.bootstrap import bootstrap_provisioner
from meshplane.devstack.kafka import broker_for_run, ensure_topics, machine
from meshplane.devstack.snowlocal import running_snowlocal
from meshplane.provisioner.provisioning import Provisioning
from meshplane.provisioner.service import SERVICE
from meshplane.provisioner.settings import ProvisionerSettings

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "provisioner.json"
EXAMPLE = ROOT / "examples" / "sales-orders.odcs.yaml"

EVENTS = int(os.environ.get("BENCH_EVENTS", "10000"))
DOMAINS = int(os.environ.get("BENCH_DOMAINS", "4"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
LATENCY_EVENTS = int(os.environ.get("BENCH_LATENCY_EVENTS", "500"))
RATE = float(os.environ.get("BENCH_RATE", "50"))
PROFILE = os.environ.get("BENCH_PROFILE", "1") == "1"
#: A rate the provisioner can sustain against snowlocal, for latency without a queue.
SUSTAINABLE_RATE = float(os.environ.get("BENCH_SUSTAINABLE_RATE", "2"))
SUSTAINABLE_EVENTS = int(os.environ.get("BENCH_SUSTAINABLE_EVENTS", "40"))
#: Give up on a phase after this long rather than hang.
PHASE_TIMEOUT = 600.0
CAUSATION_HEADER = "ce_causationid"
INPUT_HEADER = "bench_input_id"


def _fake_gateway() -> SnowflakePort:
    """tests.fakes.RecordingGateway: the zero-latency fake the component tests use."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))  # the repo root, so that `tests` is importable
    from tests.fakes import RecordingGateway

    gateway: SnowflakePort = RecordingGateway()
    return gateway


# ---------------------------------------------------------------------------------------------
# events and topics


_BASE_CONTRACT = OpenDataContractStandard.from_file(str(EXAMPLE))


def created(domain: str, product: str) -> KafkaRecord:
    contract = _BASE_CONTRACT.model_copy(
        update={"domain": domain, "dataProduct": product, "id": f"{domain}-{product}"}
    )
    return encode(
        ProductCreated(contract=contract), topic=domain_topic(domain, "product"), source="/bench/provisioner"
    )


def event_id(record: KafkaRecord) -> str:
    value = record.header("ce_id")
    assert value is not None
    return value.decode()


def header(headers: Sequence[tuple[str, bytes]], name: str) -> str | None:
    for key, value in headers:
        if key == name:
            return value.decode()
    return None


async def publish_all(bootstrap: str, records: Sequence[KafkaRecord]) -> None:
    """Publish as fast as the client batches, then wait for every ack."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5)
    await producer.start()
    try:
        futures = [await producer.send(r.topic, r.value, key=r.key, headers=list(r.headers)) for r in records]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


@dataclass
class Output:
    """One output record read back: which input caused it, when it was produced, its size."""

    input_id: str | None
    timestamp_ms: int
    read_at: float
    size: int
    record: KafkaRecord


async def partitions_of(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    for _ in range(100):
        found = consumer.partitions_for_topic(topic)
        if found:
            return [TopicPartition(topic, p) for p in sorted(found)]
        await consumer.client.force_metadata_update()
        await asyncio.sleep(0.1)
    raise RuntimeError(f"no partitions for {topic}")


async def end_offsets(bootstrap: str, topic: str) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        parts = await partitions_of(consumer, topic)
        ends: dict[TopicPartition, int] = await consumer.end_offsets(parts)
        return ends
    finally:
        await consumer.stop()


async def read_outputs(
    bootstrap: str, topic: str, start: dict[TopicPartition, int], id_header: str
) -> list[Output]:
    """Everything on ``topic`` from ``start`` up to its current end."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    out: list[Output] = []
    try:
        parts = await partitions_of(consumer, topic)
        consumer.assign(parts)
        for tp in parts:
            consumer.seek(tp, start.get(tp, 0))
        ends = await consumer.end_offsets(parts)
        while any([await consumer.position(tp) < ends[tp] for tp in parts]):
            batch = await consumer.getmany(timeout_ms=500, max_records=5000)
            now = time.time()
            for messages in batch.values():
                for m in messages:
                    headers = tuple((k, v or b"") for k, v in m.headers)
                    out.append(
                        Output(
                            input_id=header(headers, id_header),
                            timestamp_ms=m.timestamp,
                            read_at=now,
                            size=len(m.value or b""),
                            record=KafkaRecord(
                                topic=m.topic, key=m.key, value=m.value or b"", headers=headers
                            ),
                        )
                    )
    finally:
        await consumer.stop()
    return out


# ---------------------------------------------------------------------------------------------
# provisioner


def provisioner_config(
    bootstrap: str, group: str, domains: str, snowflake: dict[str, object] | None = None
) -> ServiceConfig[ProvisionerSettings]:
    """The provisioner's configuration; without ``snowflake``, placeholders for the fake gateway."""
    return SERVICE.test_config(
        snowflake=snowflake,
        bootstrap_servers=bootstrap,
        group_id=group,
        domains=domains,
        retry=RetrySettings(),
    )


def metric(service: ServiceApp[Provisioning], name: str, **labels: str) -> float:
    """Sum of a metric's samples over all label values (restricted by ``labels``)."""
    total = 0.0
    for family in service.metrics.registry.collect():
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


async def wait_until(condition: Callable[[], bool], *, within: float, what: str, poll: float = 0.05) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(poll)


@dataclass
class Round:
    name: str
    count: int
    first_to_last_s: float
    wall_s: float
    rate: float
    extra: dict[str, Any] = field(default_factory=dict)


def rate_of(outputs: Sequence[Output], timed: set[str], wall: float, name: str) -> Round:
    stamps = sorted(o.timestamp_ms for o in outputs if o.input_id in timed)
    seen = {o.input_id for o in outputs if o.input_id in timed}
    if seen != timed:
        raise RuntimeError(f"{name}: {len(timed - seen)} of {len(timed)} inputs have no output")
    span = (stamps[-1] - stamps[0]) / 1000
    return Round(name, len(stamps), round(span, 3), round(wall, 3), round((len(stamps) - 1) / span, 1))


async def provisioner_round(
    bootstrap: str,
    served: str,
    total: int,
    timed: set[str],
    *,
    profile: cProfile.Profile | None = None,
) -> Round:
    start = await end_offsets(bootstrap, AUDIT_TOPIC)
    group = f"bench-provisioner-{secrets.token_hex(4)}"
    config = provisioner_config(bootstrap, group, served)
    service = SERVICE.create_app(config, _fake_gateway())
    began = time.perf_counter()
    await service.start()
    if profile is not None:
        profile.enable()
    try:
        await wait_until(
            lambda: metric(service, "meshplane_events_in_total") >= total,
            within=PHASE_TIMEOUT,
            what="the provisioner to take every event",
        )
        wall = time.perf_counter() - began
    finally:
        if profile is not None:
            profile.disable()
        await service.stop()
    handled = metric(service, "meshplane_handler_seconds_count")
    handler_mean = metric(service, "meshplane_handler_seconds_sum") / handled
    outputs = await read_outputs(bootstrap, AUDIT_TOPIC, start, CAUSATION_HEADER)
    mine = [o for o in outputs if o.input_id in timed]
    result = rate_of(mine, timed, wall, "provisioner")
    result.extra = {
        "handler_mean_ms": round(handler_mean * 1000, 3),
        "audit_value_bytes_mean": round(statistics.mean(o.size for o in mine)),
        "outcomes": sorted({decode(o.record).type for o in mine[:50]}),
    }
    return result


# ---------------------------------------------------------------------------------------------
# the bare loops


async def bare_round(
    bootstrap: str, topics: Sequence[str], out_topic: str, total: int, timed: set[str], *, batched: bool
) -> Round:
    start = await end_offsets(bootstrap, out_topic)
    consumer = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap,
        group_id=f"bench-bare-{secrets.token_hex(4)}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        metadata_max_age_ms=5000,
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    began = time.perf_counter()
    await consumer.start()
    await producer.start()
    done = 0
    phases = {"fetch": 0.0, "send_ack": 0.0, "commit": 0.0}

    async def send(message: Any) -> asyncio.Future[Any]:
        headers = [*message.headers, (INPUT_HEADER, (header(message.headers, "ce_id") or "").encode())]
        future: asyncio.Future[Any] = await producer.send(
            out_topic, message.value, key=message.key, headers=headers
        )
        return future

    try:
        async with asyncio.timeout(PHASE_TIMEOUT):
            while done < total:
                if batched:
                    batch = await consumer.getmany(timeout_ms=1000, max_records=500)
                    futures = [await send(m) for messages in batch.values() for m in messages]
                    await asyncio.gather(*futures)
                    if futures:
                        await consumer.commit()
                    done += len(futures)
                else:
                    t0 = time.perf_counter()
                    message = await consumer.getone()
                    t1 = time.perf_counter()
                    await (await send(message))
                    t2 = time.perf_counter()
                    await consumer.commit()
                    t3 = time.perf_counter()
                    phases["fetch"] += t1 - t0
                    phases["send_ack"] += t2 - t1
                    phases["commit"] += t3 - t2
                    done += 1
        wall = time.perf_counter() - began
    finally:
        await producer.stop()
        await consumer.stop()
    outputs = await read_outputs(bootstrap, out_topic, start, INPUT_HEADER)
    name = "bare_batched" if batched else "bare_per_record"
    result = rate_of(outputs, timed, wall, name)
    result.extra = {"output_value_bytes_mean": round(statistics.mean(o.size for o in outputs))}
    if not batched:
        result.extra.update({f"{k}_mean_ms": round(v / done * 1000, 3) for k, v in phases.items()})
    return result


# ---------------------------------------------------------------------------------------------
# phase 1


def top_functions(profile: cProfile.Profile, limit: int = 25) -> dict[str, list[dict[str, Any]]]:
    """Top functions by own time, and the mesh's, FastStream's and aiokafka's by cumulative time."""
    stats = pstats.Stats(profile, stream=io.StringIO())
    rows = []
    for (filename, line, name), (_cc, calls, tottime, cumtime, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        short = filename.replace(str(ROOT), "").split("site-packages/")[-1]
        rows.append(
            {
                "function": f"{short}:{line}({name})",
                "calls": calls,
                "tottime_s": round(tottime, 3),
                "cumtime_s": round(cumtime, 3),
            }
        )
    own = sorted(rows, key=lambda row: -row["tottime_s"])[:limit]
    ours = ("meshplane", "faststream", "fast_depends", "aiokafka", "tests/fakes")
    cumulative = sorted(
        (row for row in rows if any(part in row["function"] for part in ours)),
        key=lambda row: -row["cumtime_s"],
    )[:limit]
    return {"top_by_own_time": own, "top_by_cumulative_time": cumulative}


async def throughput(bootstrap: str) -> dict[str, Any]:
    prefix = f"b{secrets.token_hex(3)}"
    domains = [f"{prefix}_d{i}" for i in range(DOMAINS)]
    topics = [domain_topic(d, "product") for d in domains]
    out_topic = f"bench.{prefix}.out"
    await ensure_topics(bootstrap, *topics, out_topic, AUDIT_TOPIC)

    encode_began = time.perf_counter()
    warm = [created(d, "warm") for d in domains]
    records = [created(domains[i % DOMAINS], f"p{i}") for i in range(EVENTS)]
    encode_s = time.perf_counter() - encode_began
    await publish_all(bootstrap, [*warm, *records])
    timed = {event_id(r) for r in records}
    total = len(warm) + len(records)
    served = f"{prefix}_[a-z0-9_]*"  # the domains this run's provisioner serves

    rounds: list[Round] = []
    for i in range(ROUNDS):
        print(f"throughput round {i + 1}/{ROUNDS}", file=sys.stderr, flush=True)
        rounds.append(await bare_round(bootstrap, topics, out_topic, total, timed, batched=False))
        rounds.append(await provisioner_round(bootstrap, served, total, timed))
        rounds.append(await bare_round(bootstrap, topics, out_topic, total, timed, batched=True))
        for r in rounds[-3:]:
            print(f"  {r.name}: {r.rate} events/s", file=sys.stderr, flush=True)

    def median_rate(name: str) -> float:
        return statistics.median(r.rate for r in rounds if r.name == name)

    prov, per_record, batched = (
        median_rate("provisioner"),
        median_rate("bare_per_record"),
        median_rate("bare_batched"),
    )
    report: dict[str, Any] = {
        "events_timed": EVENTS,
        "warm_up_events": len(warm),
        "domains": DOMAINS,
        "partitions": f"{DOMAINS} topics x 1 partition (mesh.<domain>.product); outputs to 1 partition",
        "input_value_bytes_mean": round(statistics.mean(len(r.value) for r in records)),
        "encode_seconds_for_all_inputs": round(encode_s, 2),
        "how": (
            "All inputs published before any consumer starts; each round is a fresh consumer group over "
            "the same records. Warm-up: the first record of each domain's partition is a warm-up event, so "
            "partition order puts the domain in the provisioner's ready cache before any timed event of it; "
            "warm-up events are not timed. rate = (n-1) / (last - first output CreateTime), over the timed "
            "events' outputs (audit events for the provisioner); wall_s = consumer start to last event taken."
        ),
        "provisioner": {
            "what": (
                "create_app(config, tests.fakes.RecordingGateway()) (zero-latency gateway): FastStream "
                "batch subscriber by topic pattern (up to 500 records per batch, whatever is fetched); per "
                "record, in order: decode -> plan -> fake execute -> audit event queued to mesh.audit "
                "(idempotent, acks=all); per batch: wait for every ack -> one offset commit"
            ),
        },
        "baselines": {
            "bare_per_record": (
                "aiokafka consumer (explicit topic list, enable_auto_commit=False) getone() -> idempotent "
                "acks=all producer sends the input's value/key/headers (+1 header) to one output topic -> "
                "wait for the ack -> consumer.commit(); one record at a time: the provisioner's "
                "delivery pattern without decode/plan/encode/FastStream"
            ),
            "bare_batched": (
                "same, but getmany(max_records=500) -> send every record -> wait for all acks -> one "
                "consumer.commit() per batch (still at-least-once: commit only after the outputs are acked)"
            ),
        },
        "rates_events_per_s": {
            "provisioner": prov,
            "bare_per_record": per_record,
            "bare_batched": batched,
        },
        "ratio_provisioner_to_bare_per_record": round(prov / per_record, 3),
        "ratio_provisioner_to_bare_batched": round(prov / batched, 3),
        "rounds": [r.__dict__ for r in rounds],
    }
    provisioner_rounds = [r for r in rounds if r.name == "provisioner"]
    per_event_ms = 1000 / prov
    handler_ms = statistics.median(r.extra["handler_mean_ms"] for r in provisioner_rounds)
    report["breakdown_ms_per_event"] = {
        "note": (
            "from the provisioner rounds above (medians): handler = the processor's work on one record "
            "(decode, plan, fake execute, encode, queue the audit event), from meshplane_handler_seconds; "
            "the rest = FastStream's fetch and dispatch per batch, the wait for acks and the commit per "
            "batch, and the event loop's own work, spread over the batch's events"
        ),
        "per_event": round(per_event_ms, 3),
        "handler": handler_ms,
        "outside_handler": round(per_event_ms - handler_ms, 3),
    }
    if PROFILE:
        print("profile: one more provisioner round", file=sys.stderr, flush=True)
        profile = cProfile.Profile()
        profiled = await provisioner_round(bootstrap, served, total, timed, profile=profile)
        report["profile"] = {
            "note": (
                "cProfile of one more provisioner round (the event loop's thread: provisioner and its "
                "aiokafka clients); own time is CPU in that function, time awaiting I/O is not counted"
            ),
            "rate_under_profile": profiled.rate,
            **top_functions(profile),
        }
    return report


# ---------------------------------------------------------------------------------------------
# phases 2 and 3: snowlocal with the real gateway


class AuditTail:
    """A consumer tailing mesh.audit from its current end, stamping when each record is read."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.seen: dict[str, tuple[float, KafkaRecord]] = {}
        self._task: asyncio.Task[None] | None = None
        self._consumer: AIOKafkaConsumer | None = None

    async def __aenter__(self) -> AuditTail:
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
        await consumer.start()
        self._consumer = consumer
        parts = await partitions_of(consumer, AUDIT_TOPIC)
        consumer.assign(parts)
        await consumer.seek_to_end(*parts)
        for tp in parts:
            await consumer.position(tp)  # resolve the position now, before anything is published
        self._task = asyncio.create_task(self._run())
        return self

    async def _run(self) -> None:
        assert self._consumer is not None
        while True:
            batch = await self._consumer.getmany(timeout_ms=100)
            now = time.time()
            for messages in batch.values():
                for m in messages:
                    headers = tuple((k, v or b"") for k, v in m.headers)
                    cause = header(headers, CAUSATION_HEADER)
                    if cause is not None and cause not in self.seen:
                        record = KafkaRecord(topic=m.topic, key=m.key, value=m.value or b"", headers=headers)
                        self.seen[cause] = (now, record)

    async def wait_for(self, ids: set[str], within: float) -> None:
        await wait_until(lambda: ids <= self.seen.keys(), within=within, what="audit events", poll=0.02)

    async def __aexit__(self, *_: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._consumer is not None:
            await self._consumer.stop()


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))  # nearest rank
    return ordered[index]


async def latency(
    service: ServiceApp[Provisioning],
    tail: AuditTail,
    bootstrap: str,
    domains: Sequence[str],
    tag: str,
    count: int,
    rate: float,
) -> dict[str, Any]:
    """Publish ``count`` products over existing ``domains`` at ``rate``/s; publish-to-audit latency."""
    records = [created(domains[i % len(domains)], f"{tag}{i}") for i in range(count)]
    before = {
        name: metric(service, name)
        for name in (
            "meshplane_handler_seconds_count",
            "meshplane_handler_seconds_sum",
            "meshplane_snowflake_round_trips_total",
            "meshplane_snowflake_request_seconds_count",
            "meshplane_snowflake_request_seconds_sum",
        )
    }

    def delta(name: str) -> float:
        return metric(service, name) - before[name]

    published: dict[str, float] = {}
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        began = time.monotonic()
        for i, record in enumerate(records):
            pause = began + i / rate - time.monotonic()
            if pause > 0:
                await asyncio.sleep(pause)
            published[event_id(record)] = time.time()
            await producer.send_and_wait(
                record.topic, record.value, key=record.key, headers=list(record.headers)
            )
        publish_s = time.monotonic() - began
    finally:
        await producer.stop()
    await tail.wait_for(set(published), within=PHASE_TIMEOUT)
    drained_s = time.monotonic() - began
    latencies = [(tail.seen[i][0] - t) * 1000 for i, t in published.items()]
    handled = delta("meshplane_handler_seconds_count")
    return {
        "how": (
            f"{count} product.created over {len(domains)} existing domains published at {rate:g}/s "
            "(send_and_wait, stamped just before the send); latency = when a consumer tailing mesh.audit "
            "reads the event's audit event - publish stamp"
        ),
        "count": len(latencies),
        "target_rate": rate,
        "achieved_publish_rate": round(len(records) / publish_s, 1),
        "processed_rate": round(len(records) / drained_s, 2),
        "p50_ms": round(percentile(latencies, 50), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        "max_ms": round(max(latencies), 1),
        "min_ms": round(min(latencies), 1),
        "audit_types": sorted({decode(tail.seen[i][1]).type for i in published}),
        "handler_mean_ms": round(delta("meshplane_handler_seconds_sum") / handled * 1000, 1),
        "snowflake_request_mean_ms": round(
            delta("meshplane_snowflake_request_seconds_sum")
            / delta("meshplane_snowflake_request_seconds_count")
            * 1000,
            1,
        ),
        "round_trips_per_event": round(delta("meshplane_snowflake_round_trips_total") / handled, 3),
    }


async def against_snowlocal(bootstrap: str, snowflake: dict[str, object]) -> dict[str, Any]:
    prefix = f"s{secrets.token_hex(3)}"
    domains = [f"{prefix}_d{i}" for i in range(3)]
    await ensure_topics(bootstrap, *(domain_topic(d, "product") for d in domains))
    served = f"{prefix}_[a-z0-9_]*"  # the domains this run's provisioner serves
    cfg = provisioner_config(bootstrap, f"bench-snowlocal-{prefix}", served, snowflake)
    service = SERVICE.create_app(cfg, SnowflakeGateway(cfg.snowflake))
    report: dict[str, Any] = {}
    await service.start()
    try:
        async with AuditTail(bootstrap) as tail:
            # 2. round trips: one event at a time, the counter read before and after each.
            cases: dict[str, list[dict[str, Any]]] = {"new_domain": [], "existing_domain": []}
            for kind, product in (("new_domain", "first"), ("existing_domain", "second")):
                for domain in domains:
                    record = created(domain, product)
                    before = metric(service, "meshplane_snowflake_round_trips_total")
                    http_before = metric(service, "meshplane_snowflake_http_requests_total")
                    await publish_all(bootstrap, [record])
                    await tail.wait_for({event_id(record)}, within=120)
                    after = metric(service, "meshplane_snowflake_round_trips_total")
                    http_after = metric(service, "meshplane_snowflake_http_requests_total")
                    audit = decode(tail.seen[event_id(record)][1])
                    data = audit.data
                    cases[kind].append(
                        {
                            "type": audit.type,
                            "round_trips_audit": getattr(data, "round_trips", None),
                            "round_trips_counter": after - before,
                            "http_requests_audit": getattr(data, "http_requests", None),
                            "http_requests_counter": http_after - http_before,
                            "domain_created": getattr(data, "domain_created", None),
                            "statements": len(getattr(data, "statements", ())),
                        }
                    )
            report["round_trips"] = {
                "how": (
                    "one event at a time with the real gateway as the bootstrap user; round_trips (requests "
                    "that ran SQL) and http_requests (those and the statement results fetched) from the "
                    "audit event, counters = deltas of meshplane_snowflake_round_trips_total and "
                    "meshplane_snowflake_http_requests_total around the event"
                ),
                **{
                    kind: {
                        "events": len(rows),
                        "round_trips_audit": sorted({r["round_trips_audit"] for r in rows}),
                        "round_trips_counter": sorted({r["round_trips_counter"] for r in rows}),
                        "http_requests_audit": sorted({r["http_requests_audit"] for r in rows}),
                        "http_requests_counter": sorted({r["http_requests_counter"] for r in rows}),
                        "domain_created": sorted({r["domain_created"] for r in rows}),
                        "statements_per_plan": sorted({r["statements"] for r in rows}),
                        "audit_types": sorted({r["type"] for r in rows}),
                    }
                    for kind, rows in cases.items()
                },
            }
            print(f"round trips: {json.dumps(report['round_trips'])}", file=sys.stderr, flush=True)

            # 3. latency at RATE events/s over existing domains, then at a rate it can sustain.
            report["latency"] = await latency(service, tail, bootstrap, domains, "l", LATENCY_EVENTS, RATE)
            print(f"latency: {json.dumps(report['latency'])}", file=sys.stderr, flush=True)
            report["latency_below_capacity"] = await latency(
                service, tail, bootstrap, domains, "u", SUSTAINABLE_EVENTS, SUSTAINABLE_RATE
            )
            print(f"latency below capacity: {json.dumps(report['latency_below_capacity'])}", file=sys.stderr)
    finally:
        await service.stop()
    return report


# ---------------------------------------------------------------------------------------------


def main() -> None:
    report: dict[str, Any] = {
        "what": (
            "provisioner throughput vs bare aiokafka loops (same run, same records), Snowflake round trips "
            "per event and publish-to-audit latency against snowlocal"
        ),
        "machine": machine(),
    }
    with broker_for_run() as (bootstrap, which):
        report["kafka"] = which
        report["throughput"] = asyncio.run(throughput(bootstrap))
        with running_snowlocal() as endpoint:
            snowflake = bootstrap_provisioner(endpoint, password="provisioner-bench")
            report["snowlocal"] = asyncio.run(against_snowlocal(bootstrap, snowflake))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    t, s = report["throughput"], report["snowlocal"]
    print(json.dumps(report, indent=2))
    print(
        f"\nthroughput: provisioner {t['rates_events_per_s']['provisioner']}/s, bare per-record "
        f"{t['rates_events_per_s']['bare_per_record']}/s "
        f"(ratio {t['ratio_provisioner_to_bare_per_record']}), "
        f"bare batched {t['rates_events_per_s']['bare_batched']}/s (ratio "
        f"{t['ratio_provisioner_to_bare_batched']})\n"
        f"round trips: new domain {s['round_trips']['new_domain']['round_trips_audit']}, existing "
        f"{s['round_trips']['existing_domain']['round_trips_audit']}; HTTP requests: new domain "
        f"{s['round_trips']['new_domain']['http_requests_audit']}, existing "
        f"{s['round_trips']['existing_domain']['http_requests_audit']}\n"
        f"latency at {s['latency']['target_rate']}/s: p50 {s['latency']['p50_ms']} ms, p99 "
        f"{s['latency']['p99_ms']} ms, max {s['latency']['max_ms']} ms (n={s['latency']['count']}); at "
        f"{s['latency_below_capacity']['target_rate']}/s: p50 {s['latency_below_capacity']['p50_ms']} ms, "
        f"p99 {s['latency_below_capacity']['p99_ms']} ms (n={s['latency_below_capacity']['count']})"
    )


if __name__ == "__main__":
    main()
