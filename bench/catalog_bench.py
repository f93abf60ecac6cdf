"""How long a service takes to rebuild the catalog of 10,000 products at start, on the real broker.

1. 10,000 catalog entries (the example contract under 10,000 product names, 100 domains: each
   entry carries its whole ODCS contract, as the provisioner writes it) are produced to a fresh
   compacted topic with the cluster's default partitions (``ensure_catalog_topic``).
2. Alternating rounds, same topic: the real ``CatalogReader.start()`` (rebuild: read to the end
   offsets, decode each CloudEvent, validate the entry), and a bare aiokafka consumer that reads the
   same records to the same end offsets and decodes nothing. Medians over the rounds; the ratio
   bare ÷ reader says what decoding and validating cost on top of the fetch.

Writes bench/results/catalog.json and prints a summary.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import statistics
import time
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from open_data_contract_standard.model import OpenDataContractStandard

from meshplane.common.catalog import CatalogReader, ensure_catalog_topic, entries
from meshplane.common.events import encode, read_contract
from meshplane.common.settings import KafkaSettings
from meshplane.devstack.kafka import broker_for_run, machine

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "catalog.json"
PRODUCTS = 10_000
DOMAINS = 100
ROUNDS = 3


async def fill(bootstrap: str, topic: str) -> int:
    """Produce PRODUCTS entries; returns the bytes of one record's value (they are all alike)."""
    example = OpenDataContractStandard.from_file(str(ROOT / "examples" / "sales-orders.odcs.yaml"))
    document = example.model_dump(mode="json", by_alias=True, exclude_none=True)
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=20
    )
    await producer.start()
    size = 0
    try:
        sends = []
        for i in range(PRODUCTS):
            odcs = example.model_copy(update={"domain": f"d{i % DOMAINS}", "dataProduct": f"p{i}"})
            entry = entries.provisioned(None, read_contract(odcs), document, changed_by=f"bench-{i}")
            record = encode(entry, topic=topic, source="/bench/catalog")
            size = len(record.value)
            sends.append(
                await producer.send(topic, record.value, key=record.key, headers=list(record.headers))
            )
        await asyncio.gather(*sends)
    finally:
        await producer.stop()
    return size


async def reader_round(bootstrap: str, topic: str) -> tuple[float, int]:
    settings = KafkaSettings(bootstrap_servers=bootstrap)
    reader = CatalogReader(settings, client_id="bench-catalog", topic=topic)
    began = time.perf_counter()
    await reader.start()
    elapsed = time.perf_counter() - began
    await reader.stop()
    assert len(reader.catalog) == PRODUCTS, len(reader.catalog)
    return elapsed, reader.rebuild_records


async def bare_round(bootstrap: str, topic: str) -> tuple[float, int]:
    began = time.perf_counter()
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        max_partition_fetch_bytes=4 << 20,
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        read = 0
        while [tp for tp in partitions if await consumer.position(tp) < end[tp]]:
            batches = await consumer.getmany(timeout_ms=200, max_records=10_000)
            read += sum(len(records) for records in batches.values())
    finally:
        await consumer.stop()
    return time.perf_counter() - began, read


async def measure(bootstrap: str) -> dict[str, Any]:
    topic = f"bench.catalog.{secrets.token_hex(3)}"
    await ensure_catalog_topic(KafkaSettings(bootstrap_servers=bootstrap), topic)
    began = time.perf_counter()
    value_bytes = await fill(bootstrap, topic)
    produced = time.perf_counter() - began
    reader_s: list[float] = []
    bare_s: list[float] = []
    for _ in range(ROUNDS):
        seconds, records = await reader_round(bootstrap, topic)
        reader_s.append(seconds)
        assert records == PRODUCTS
        seconds, records = await bare_round(bootstrap, topic)
        bare_s.append(seconds)
        assert records == PRODUCTS
    reader, bare = statistics.median(reader_s), statistics.median(bare_s)
    return {
        "products": PRODUCTS,
        "record_value_bytes": value_bytes,
        "produce_seconds": round(produced, 2),
        "rebuild_seconds_median": round(reader, 3),
        "rebuild_seconds_rounds": [round(s, 3) for s in reader_s],
        "bare_read_seconds_median": round(bare, 3),
        "bare_read_seconds_rounds": [round(s, 3) for s in bare_s],
        "products_per_second": round(PRODUCTS / reader),
        "ratio_bare_to_reader": round(bare / reader, 3),
    }


def main() -> None:
    report: dict[str, Any] = {
        "what": (
            "CatalogReader.start() rebuilding a catalog of 10,000 products from a compacted topic, vs a bare "
            "aiokafka consumer reading the same records without decoding (alternating rounds, medians)"
        ),
        "machine": machine(),
    }
    with broker_for_run() as (bootstrap, which):
        report["kafka"] = which
        report["rebuild"] = asyncio.run(measure(bootstrap))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    r = report["rebuild"]
    print(json.dumps(report, indent=2))
    print(
        f"\ncatalog rebuild: {r['products']} products in {r['rebuild_seconds_median']} s "
        f"({r['products_per_second']}/s); bare read {r['bare_read_seconds_median']} s "
        f"(bare ÷ reader {r['ratio_bare_to_reader']})"
    )


if __name__ == "__main__":
    main()
