"""The composition root every service shares: the only place where a service's parts are wired.

:func:`create_app` builds the FastStream app around a :class:`~meshplane.common.kit.spec.ServiceSpec`:
one batch subscriber per subscription (in the service's consumer group), each feeding an
:class:`~meshplane.common.messaging.EventProcessor` whose work is the subscription's handler
registry; the idempotent producer for audit events and dead letters; the health server with its
Kafka and Snowflake readiness checks; and the lifespan that starts and stops them. The gateway is
passed in, so tests and benchmarks inject a fake and production passes the real one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar

from faststream import FastStream
from faststream.kafka import KafkaBroker

from meshplane.common.catalog import CatalogReader, CatalogSource, ensure_catalog_topic
from meshplane.common.events import ServiceRef, domain_topic_pattern
from meshplane.common.kit.config import ServiceConfig
from meshplane.common.kit.spec import ServiceParts, ServiceSpec
from meshplane.common.messaging import (
    Emitter,
    EventProcessor,
    RecordProducer,
    RecordSink,
    create_broker,
    subscribe,
)
from meshplane.common.snowflake.instrumented import InstrumentedGateway
from meshplane.common.snowflake.ports import SnowflakePort
from meshplane.common.snowflake.statements import Statement
from meshplane.common.telemetry import HealthServer, ServiceMetrics

__all__ = ["ServiceApp", "create_app"]

_D = TypeVar("_D")

#: A metadata-only read: proves the session works without waking a warehouse.
SNOWFLAKE_PING: Final = Statement("SHOW PARAMETERS LIKE 'QUERY_TAG' IN SESSION")


@dataclass
class ServiceApp(Generic[_D]):
    """The running parts, so that tests can start and stop a service in-process."""

    app: FastStream
    broker: KafkaBroker
    metrics: ServiceMetrics
    health: HealthServer
    #: The service layer the handlers share (what the spec's ``dependencies`` built).
    dependencies: _D
    catalog: CatalogSource | None = None

    async def start(self) -> None:
        await self.app.start()

    async def stop(self) -> None:
        await self.app.stop()


def create_app(
    spec: ServiceSpec[Any, _D],
    config: ServiceConfig[Any],
    gateway: SnowflakePort,
    *,
    sink: RecordSink | None = None,
    metrics: ServiceMetrics | None = None,
    catalog: CatalogSource | None = None,
) -> ServiceApp[_D]:
    client_id = f"meshplane-{spec.name}"
    service = ServiceRef(name=spec.name, version=spec.version)
    metrics = metrics or ServiceMetrics(spec.name)
    instrumented = InstrumentedGateway(gateway, metrics)
    producer = RecordProducer(config.kafka, client_id=client_id)
    reads_topic = spec.catalog != "none" and catalog is None
    if spec.catalog != "none" and catalog is None:
        catalog = CatalogReader(config.kafka, client_id=f"{client_id}-catalog")
    emitter = Emitter(service, sink or producer, metrics)
    dependencies = spec.dependencies(
        ServiceParts(config=config, gateway=instrumented, catalog=catalog, emitter=emitter)
    )
    background = tuple(spec.background(dependencies))
    barriers = [part.caught_up for part in ((catalog,) if catalog is not None else ()) + background]

    async def before_batch() -> None:
        # Every state this replica reads has caught up with what other replicas wrote before it;
        # each asks its own end offsets, so they wait together, not one after the other.
        await asyncio.gather(*(caught_up() for caught_up in barriers))

    broker = create_broker(config.kafka, client_id=client_id)
    for subscription in spec.subscriptions:
        processor = EventProcessor(
            service=service,
            sink=sink or producer,
            metrics=metrics,
            retry=config.retry,
            work=subscription.handlers.work(dependencies),
            failed=spec.on_failure,
            accepts=subscription.handlers.types,
            before_batch=before_batch if barriers else None,
        )
        subscribe(
            broker,
            processor,
            pattern=domain_topic_pattern(subscription.kind, config.service.domains),
            group_id=config.group_id(spec.name),
            kafka=config.kafka,
            title=subscription.title,
            description=subscription.description,
        )

    async def snowflake_ready() -> bool:
        await gateway.query(SNOWFLAKE_PING)
        return True

    checks = {"kafka": producer.ready, "snowflake": snowflake_ready}
    if catalog is not None:
        checks["catalog"] = catalog.ready
    for part in background:
        checks[part.name] = part.ready
    health = HealthServer(
        host=config.http.host, port=config.http.port, registry=metrics.registry, checks=checks
    )

    async def on_startup() -> None:
        # Before the broker consumes: a service that knows the products starts from the whole catalog.
        # A part that cannot start stops the service; what already runs is stopped first, in reverse,
        # so nothing (a sweep's group membership, a follower, the probe port) outlives a failed start.
        stops: list[Callable[[], Awaitable[None]]] = []
        try:
            await health.start()
            stops.append(health.stop)
            if sink is None:
                await producer.start()
                stops.append(producer.stop)
            if catalog is not None:
                if reads_topic and spec.catalog == "write":
                    await ensure_catalog_topic(config.kafka)
                await catalog.start()
                stops.append(catalog.stop)
            for part in background:
                await part.start()
                stops.append(part.stop)
        except BaseException:
            for stop in reversed(stops):
                await stop()
            raise

    async def after_shutdown() -> None:
        await health.stop()
        for part in reversed(background):
            await part.stop()
        if catalog is not None:
            await catalog.stop()
        await producer.stop()
        await gateway.aclose()

    app = FastStream(broker, on_startup=[on_startup], after_shutdown=[after_shutdown])
    return ServiceApp(
        app=app, broker=broker, metrics=metrics, health=health, dependencies=dependencies, catalog=catalog
    )
