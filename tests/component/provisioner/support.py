"""What the provisioner's component tests share: example contracts as records, and delivering them
through FastStream's in-memory broker."""

from __future__ import annotations

from pathlib import Path

from faststream.kafka import TestKafkaBroker
from open_data_contract_standard.model import OpenDataContractStandard

from meshplane.common.events import KafkaRecord, ProductCreated, domain_topic, encode
from meshplane.common.kit import ServiceApp
from meshplane.provisioner.provisioning import Provisioning

EXAMPLES = Path(__file__).parents[3] / "examples"

ProvisionerApp = ServiceApp[Provisioning]


def contract(name: str = "sales-orders", **changes: object) -> OpenDataContractStandard:
    odcs = OpenDataContractStandard.from_file(str(EXAMPLES / f"{name}.odcs.yaml"))
    return odcs.model_copy(update=changes)


def created(
    odcs: OpenDataContractStandard, *, topic: str | None = None, event_id: str | None = None
) -> KafkaRecord:
    event = ProductCreated(contract=odcs)
    return encode(
        event, topic=topic or domain_topic(event.mesh.domain, "product"), source="/tests", event_id=event_id
    )


async def deliver(service: ProvisionerApp, *records: KafkaRecord) -> None:
    """Publish ``records`` to the service through FastStream's in-memory broker, one by one."""
    async with TestKafkaBroker(service.broker) as broker:
        for record in records:
            await broker.publish(
                record.value,
                topic=record.topic,
                key=record.key,
                headers={name: value.decode() for name, value in record.headers},
            )
