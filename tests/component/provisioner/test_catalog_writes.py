"""The provisioner writes each product's catalog entry with its audit event, and checks lineage inputs."""

from __future__ import annotations

from open_data_contract_standard.model import CustomProperty, OpenDataContractStandard

from meshplane.common.catalog import entries
from meshplane.common.events import (
    AUDIT_TOPIC,
    CATALOG_TOPIC,
    AuditProductProvisioningFailed,
    CatalogEntry,
    KafkaRecord,
    ProductRetired,
    decode,
    encode,
    read_contract,
)
from meshplane.common.messaging import RecordingSink
from meshplane.provisioner.service import SERVICE
from tests.component.provisioner.support import EXAMPLES, ProvisionerApp, contract, created, deliver
from tests.fakes import RecordingGateway, StaticCatalog


def with_inputs(odcs: OpenDataContractStandard, *inputs: str) -> OpenDataContractStandard:
    extra = [CustomProperty(property="inputs", value=list(inputs))]
    return odcs.model_copy(update={"customProperties": [*(odcs.customProperties or []), *extra]})


def entry_of(record: KafkaRecord) -> CatalogEntry:
    data = decode(record).data
    assert isinstance(data, CatalogEntry)
    return data


async def test_a_provisioned_product_is_written_to_the_catalog_before_its_audit_event(
    service: ProvisionerApp, sink: RecordingSink, catalog: StaticCatalog
) -> None:
    record = created(contract())
    await deliver(service, record)

    topics = [r.topic for r in sink.records]
    assert topics == [CATALOG_TOPIC, AUDIT_TOPIC]
    written = sink.records[0]
    assert written.key == b"sales.orders"
    entry = entry_of(written)
    assert entry.owner == "sales-data-team"
    (version,) = entry.versions
    assert (version.major, version.version, version.lifecycle) == (1, "1.0.0", "active")
    assert version.schema_name == "SALES.ORDERS_V1"
    assert version.reader_role == "SALES__ORDERS_V1_READER"
    assert version.ports[0].view == "SALES.ORDERS_V1.ORDER_LINES"
    assert entry.classifications == {"internal": 3, "pii": 2, "public": 1}
    assert version.contract is not None
    assert version.contract["dataProduct"] == "orders"
    assert version.changed_by == (record.header("ce_id") or b"").decode()
    assert catalog.written == [entry]  # remembered at once: this replica reads its own writes


async def test_a_retired_version_stays_in_the_catalog_as_retired_beside_the_active_one(
    service: ProvisionerApp, sink: RecordingSink
) -> None:
    retire = encode(
        ProductRetired(domain="sales", product="orders", major=1), topic="mesh.sales.product", source="/t"
    )
    await deliver(service, created(contract()), created(contract(version="2.0.0")), retire)

    latest = entry_of(sink.on(CATALOG_TOPIC)[-1])
    assert [(v.major, v.lifecycle) for v in latest.versions] == [(1, "retired"), (2, "active")]
    assert latest.classifications == {"internal": 3, "pii": 2, "public": 1}  # v2's columns only


async def test_retiring_a_product_the_catalog_never_had_writes_no_entry(
    service: ProvisionerApp, sink: RecordingSink
) -> None:
    retire = encode(
        ProductRetired(domain="sales", product="ghost", major=1), topic="mesh.sales.product", source="/t"
    )
    await deliver(service, retire)
    assert sink.on(CATALOG_TOPIC) == []
    assert decode(sink.on(AUDIT_TOPIC)[0]).type == "mesh.audit.product.retired.v1"


async def test_an_input_missing_from_the_catalog_is_refused_with_the_reason_and_nothing_runs(
    service: ProvisionerApp, sink: RecordingSink, gateway: RecordingGateway
) -> None:
    await deliver(service, created(with_inputs(contract(), "marketing.campaigns")))

    assert gateway.plans == []
    assert sink.on(CATALOG_TOPIC) == []
    (audit,) = sink.on(AUDIT_TOPIC)
    failed = decode(audit).data
    assert isinstance(failed, AuditProductProvisioningFailed)
    assert "marketing.campaigns" in failed.reason
    assert "catalog" in failed.reason


async def test_an_input_in_the_catalog_is_recorded_as_lineage(
    gateway: RecordingGateway, sink: RecordingSink
) -> None:
    campaigns = OpenDataContractStandard.from_file(str(EXAMPLES / "marketing-campaigns.odcs.yaml"))
    known = entries.provisioned(None, read_contract(campaigns), {}, changed_by="x")
    service = SERVICE.create_app(SERVICE.test_config(), gateway, sink=sink, catalog=StaticCatalog(known))

    await deliver(service, created(with_inputs(contract(), "marketing.campaigns")))

    entry = entry_of(sink.on(CATALOG_TOPIC)[0])
    assert entry.inputs == ("marketing.campaigns",)


async def test_an_input_with_only_retired_versions_is_refused(
    gateway: RecordingGateway, sink: RecordingSink
) -> None:
    campaigns = OpenDataContractStandard.from_file(str(EXAMPLES / "marketing-campaigns.odcs.yaml"))
    gone = entries.retired(
        entries.provisioned(None, read_contract(campaigns), {}, changed_by="x"), 1, changed_by="y"
    )
    service = SERVICE.create_app(SERVICE.test_config(), gateway, sink=sink, catalog=StaticCatalog(gone))

    await deliver(service, created(with_inputs(contract(), "marketing.campaigns")))

    assert decode(sink.on(AUDIT_TOPIC)[0]).type == "mesh.audit.product.provisioning-failed.v1"
