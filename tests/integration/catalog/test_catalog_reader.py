"""The catalog reader against the real broker: rebuilt from a compacted topic, followed, caught up."""

from __future__ import annotations

import asyncio
import secrets

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from open_data_contract_standard.model import OpenDataContractStandard
from typer.testing import CliRunner

from meshplane.common.catalog import CatalogReader, ensure_catalog_topic, entries
from meshplane.common.events import CatalogEntry, KafkaRecord, encode, read_contract
from meshplane.common.settings import KafkaSettings
from meshplane.meshctl.cli import app
from tests.e2e.stack import publish
from tests.unit.provisioner.contracts import odcs_dict


def entry(domain: str, product: str, *inputs: str, version: str = "1.0.0") -> CatalogEntry:
    doc = odcs_dict()
    doc.update(domain=domain, dataProduct=product, version=version)
    doc["customProperties"].append({"property": "inputs", "value": list(inputs)})
    return entries.provisioned(
        None, read_contract(OpenDataContractStandard.model_validate(doc)), doc, changed_by="t"
    )


def record(topic: str, data: CatalogEntry) -> KafkaRecord:
    return encode(data, topic=topic, source="/tests/catalog")


def tombstone(topic: str, product_id: str) -> KafkaRecord:
    return KafkaRecord(topic=topic, key=product_id.encode(), value=b"", headers=())


async def topic_config(bootstrap: str, topic: str) -> dict[str, str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (response,) = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
        (resource,) = response.resources
        return {name: value for name, value, *_ in resource[4]}
    finally:
        await admin.close()


async def test_the_catalog_topic_is_created_compacted(kafka_bootstrap_servers: str) -> None:
    topic = f"t{secrets.token_hex(3)}.catalog"
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap_servers)
    await ensure_catalog_topic(kafka, topic)
    await ensure_catalog_topic(kafka, topic)  # a second start finds it and leaves it be
    assert (await topic_config(kafka_bootstrap_servers, topic))["cleanup.policy"] == "compact"


async def test_rebuilt_at_start_then_followed_and_caught_up(kafka_bootstrap_servers: str) -> None:
    topic = f"t{secrets.token_hex(3)}.catalog"
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap_servers)
    await ensure_catalog_topic(kafka, topic)
    old, new = entry("sales", "orders"), entry("sales", "orders", version="2.0.0")
    await publish(
        kafka_bootstrap_servers,
        [record(topic, old), record(topic, entry("hr", "people")), record(topic, new)],
    )

    reader = CatalogReader(kafka, client_id="test-catalog", topic=topic)
    await reader.start()
    try:
        assert await reader.ready()
        assert len(reader.catalog) == 2
        assert reader.catalog.get("sales.orders") == new  # the latest record of a key wins
        assert reader.rebuild_records == 3

        # Written by "another replica" while this one runs: visible once caught up.
        later = entry("finance", "report", "sales.orders")
        await publish(
            kafka_bootstrap_servers,
            [record(topic, later), tombstone(topic, "hr.people"), KafkaRecord(topic, b"x", b"{oops", ())],
        )
        await reader.caught_up()
        assert reader.catalog.get("finance.report") == later
        assert reader.catalog.get("hr.people") is None
        assert reader.skipped == 1
    finally:
        await reader.stop()


async def test_a_reader_started_before_the_topic_exists_takes_it_when_it_appears(
    kafka_bootstrap_servers: str,
) -> None:
    topic = f"t{secrets.token_hex(3)}.catalog"
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap_servers)
    reader = CatalogReader(kafka, client_id="test-catalog", topic=topic)
    await reader.start()
    try:
        assert len(reader.catalog) == 0
        await ensure_catalog_topic(kafka, topic)
        await publish(kafka_bootstrap_servers, [record(topic, entry("sales", "orders"))])
        async with asyncio.timeout(30):
            while reader.catalog.get("sales.orders") is None:
                await reader.caught_up()
                await asyncio.sleep(0.2)
    finally:
        await reader.stop()


def test_meshctl_lists_shows_searches_and_draws_lineage(kafka_bootstrap_servers: str) -> None:
    topic = f"t{secrets.token_hex(3)}.catalog"
    records = [
        record(topic, entry("sales", "orders")),
        record(topic, entry("finance", "report", "sales.orders")),
    ]
    asyncio.run(ensure_catalog_topic(KafkaSettings(bootstrap_servers=kafka_bootstrap_servers), topic))
    asyncio.run(publish(kafka_bootstrap_servers, records))
    runner = CliRunner()
    where = ["--bootstrap-servers", kafka_bootstrap_servers, "--topic", topic]

    listed = runner.invoke(app, ["catalog", "list", *where])
    assert listed.exit_code == 0, listed.output
    summary = "v1 active  owner sales-data-team  internal 3, pii 2, public 1"
    assert listed.stdout.splitlines() == [
        f"finance.report  {summary}  FINANCE.REPORT_V1.ORDER_LINES",
        f"sales.orders  {summary}  SALES.ORDERS_V1.ORDER_LINES",
    ]
    shown = runner.invoke(app, ["catalog", "show", "sales.orders", *where])
    assert shown.exit_code == 0, shown.output
    assert "schema_name: SALES.ORDERS_V1" in shown.stdout
    assert "contract:" not in shown.stdout
    assert (
        "contract:" in runner.invoke(app, ["catalog", "show", "sales.orders", "--contracts", *where]).stdout
    )
    found = runner.invoke(app, ["catalog", "search", "REPORT", *where])
    assert found.stdout.startswith("finance.report")
    assert runner.invoke(app, ["catalog", "search", "nowhere", *where]).exit_code == 1

    lineage = runner.invoke(app, ["lineage", "sales.orders", *where])
    assert lineage.exit_code == 0, lineage.output
    assert "downstream: sales.orders -> finance.report" in lineage.stdout
    mermaid = runner.invoke(app, ["lineage", "finance.report", "--mermaid", *where])
    assert mermaid.stdout.startswith("flowchart LR\n")
    missing = runner.invoke(app, ["lineage", "hr.people", *where])
    assert missing.exit_code == 1
    assert "hr.people is not in the catalog" in missing.stderr
