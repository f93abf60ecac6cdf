"""The provisioner's composition root: the only place where its parts are wired together.

``create_app(config, gateway)`` builds the FastStream app — broker, subscriber, lifespan — around
a :class:`~meshplane.provisioner.handlers.Provisioner`. The gateway is passed in, so tests and
benchmarks inject a fake and production passes the real one (see ``__main__``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from faststream import FastStream
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from pydantic.json_schema import models_json_schema

from meshplane.common.events import (
    EVENT_TYPES,
    AuditEventRejected,
    AuditProductProvisioned,
    AuditProductProvisioningFailed,
    AuditProductRetired,
    ServiceRef,
)
from meshplane.common.messaging import (
    EventProcessor,
    RecordProducer,
    RecordSink,
    create_broker,
    declare_outputs,
    subscribe,
)
from meshplane.common.snowflake.instrumented import InstrumentedGateway
from meshplane.common.snowflake.ports import SnowflakePort
from meshplane.common.snowflake.statements import Statement
from meshplane.common.telemetry import HealthServer, ServiceMetrics
from meshplane.provisioner import SERVICE_NAME, SERVICE_VERSION
from meshplane.provisioner.handlers import ACCEPTED_TYPES, Provisioner
from meshplane.provisioner.settings import ProvisionerConfig

__all__ = ["ProvisionerApp", "asyncapi_document", "create_app"]

#: A metadata-only read: proves the session works without waking a warehouse.
_SNOWFLAKE_PING = Statement("SHOW PARAMETERS LIKE 'QUERY_TAG' IN SESSION")


@dataclass
class ProvisionerApp:
    """The running parts, so that tests can start and stop the service in-process."""

    app: FastStream
    broker: KafkaBroker
    metrics: ServiceMetrics
    health: HealthServer
    provisioner: Provisioner

    async def start(self) -> None:
        await self.app.start()

    async def stop(self) -> None:
        await self.app.stop()


def create_app(
    config: ProvisionerConfig,
    gateway: SnowflakePort,
    *,
    sink: RecordSink | None = None,
    metrics: ServiceMetrics | None = None,
) -> ProvisionerApp:
    service = ServiceRef(name=SERVICE_NAME, version=SERVICE_VERSION)
    metrics = metrics or ServiceMetrics(SERVICE_NAME)
    instrumented = InstrumentedGateway(gateway, metrics)
    producer = RecordProducer(config.kafka, client_id=f"meshplane-{SERVICE_NAME}")
    provisioner = Provisioner(instrumented, service_role=config.snowflake.role)
    processor = EventProcessor(
        service=service,
        sink=sink or producer,
        metrics=metrics,
        retry=config.retry,
        work=provisioner,
        accepts=ACCEPTED_TYPES,
    )
    broker = create_broker(config.kafka, client_id=f"meshplane-{SERVICE_NAME}")
    subscribe(
        broker,
        processor,
        pattern=config.provisioner.topic_pattern,
        group_id=config.provisioner.group_id,
        kafka=config.kafka,
        title="product lifecycle",
        description="Each domain's product.created / updated / retired events, on mesh.<domain>.product.",
    )

    declare_outputs(
        broker,
        service=SERVICE_NAME,
        audit_types=(
            AuditProductProvisioned,
            AuditProductProvisioningFailed,
            AuditProductRetired,
            AuditEventRejected,
        ),
    )

    async def snowflake_ready() -> bool:
        await gateway.query(_SNOWFLAKE_PING)
        return True

    health = HealthServer(
        host=config.http.host,
        port=config.http.port,
        registry=metrics.registry,
        checks={"kafka": producer.ready, "snowflake": snowflake_ready},
    )

    async def on_startup() -> None:
        if sink is None:
            await producer.start()
        await health.start()

    async def after_shutdown() -> None:
        await health.stop()
        await producer.stop()
        await gateway.aclose()

    app = FastStream(broker, on_startup=[on_startup], after_shutdown=[after_shutdown])
    return ProvisionerApp(app=app, broker=broker, metrics=metrics, health=health, provisioner=provisioner)


def asyncapi_document(service: ProvisionerApp) -> dict[str, Any]:
    """The AsyncAPI 3 document of the provisioner's channels, generated from its wiring.

    FastStream derives it from the broker's subscriber and publishers. The subscriber takes the raw
    records (the mesh decodes each itself, so that bad input can be dead-lettered), so FastStream
    knows no payload type; the document names the event types it accepts instead.
    """
    document: dict[str, Any] = (
        AsyncAPI(
            service.broker,
            title="Meshplane provisioner",
            version=SERVICE_VERSION,
            description="Product lifecycle events in; Snowflake objects, audit events and dead letters out.",
            schema_version="3.0.0",
        )
        .to_specification()
        .to_jsonable()
    )
    schemas = document["components"]["schemas"]
    accepted = [EVENT_TYPES[name] for name in sorted(ACCEPTED_TYPES)]
    _, definitions = models_json_schema(
        [(model, "validation") for model in accepted], ref_template="#/components/schemas/{model}"
    )
    schemas.update(definitions.get("$defs", {}))
    for key in list(schemas):
        if key.endswith(":Message:Payload") and key.startswith("product lifecycle"):
            schemas[key] = {
                "title": key,
                "description": (
                    "CloudEvents 1.0 in Kafka binary mode: attributes in ce_* headers, content-type "
                    "application/json, key = product id (<domain>.<product>). The value is the data of "
                    "one of these types, named by ce_type: " + ", ".join(sorted(ACCEPTED_TYPES)) + "."
                ),
                "oneOf": [{"$ref": f"#/components/schemas/{model.__name__}"} for model in accepted],
            }
    return document
