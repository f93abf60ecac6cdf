"""The provisioner end to end on a real Snowflake account: an event in on the local broker, its audit
event and catalog entry out, the product in Snowflake."""

from __future__ import annotations

from meshplane.common.catalog import CatalogReader
from meshplane.common.events import AuditProductProvisioned
from meshplane.common.settings import KafkaSettings, RetrySettings
from meshplane.common.snowflake.gateway import SnowflakeGateway
from meshplane.common.snowflake.settings import SnowflakeSettings
from meshplane.provisioner.service import SERVICE
from tests.e2e.stack import TopicLog, created, input_id, publish, wait_for_audit


async def test_a_product_event_is_provisioned_on_real_snowflake(
    settings: SnowflakeSettings,
    gateway: SnowflakeGateway,
    domain: str,
    kafka_bootstrap_servers: str,
    audit_log: TopicLog,
) -> None:
    config = SERVICE.test_config(
        snowflake=settings,
        bootstrap_servers=kafka_bootstrap_servers,
        group_id=f"live-{domain}",
        domains=domain,
        retry=RetrySettings(initial_seconds=0.5, max_seconds=5.0, budget_seconds=120.0),
    )
    service = SERVICE.create_app(config, SnowflakeGateway(settings))
    record = created(domain, "orders")
    await service.start()
    try:
        await publish(kafka_bootstrap_servers, [record])
        (event,) = await wait_for_audit(audit_log, {input_id(record)}, within=300)
    finally:
        await service.stop()
    assert isinstance(event.data, AuditProductProvisioned), event
    assert event.data.domain_created is True
    assert all(statement.query_id for statement in event.data.statements)
    reader = CatalogReader(KafkaSettings(bootstrap_servers=kafka_bootstrap_servers), client_id="live")
    await reader.start()
    await reader.stop()
    entry = reader.catalog.get(f"{domain}.orders")
    assert entry is not None
    assert entry.versions[0].schema_name == f"{domain.upper()}.ORDERS_V1"
