"""The provisioner end to end: real Kafka, snowlocal, the provisioner running as its bootstrap user.

Each test starts a snowlocal of its own (with ``--data-dir``, so it can be stopped and started
again) and bootstraps the provisioner's least-privilege user there, exactly as
``deploy/snowflake/bootstrap.sql`` would on a real account.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from meshplane.common.catalog import CatalogReader
from meshplane.common.events import (
    AuditEventRejected,
    AuditProductProvisioned,
    ProductCreated,
    decode,
    domain_topic,
)
from meshplane.common.kit import ServiceApp, ServiceConfig
from meshplane.common.layout import port_layout, product_layout
from meshplane.common.settings import KafkaSettings, RetrySettings
from meshplane.common.snowflake.gateway import SnowflakeGateway
from meshplane.devstack.bootstrap import bootstrap_provisioner
from meshplane.devstack.endpoints import SnowlocalEndpoint
from meshplane.devstack.net import free_port, make_up_ports
from meshplane.devstack.snowlocal import running_snowlocal
from meshplane.provisioner.provisioning import Provisioning
from meshplane.provisioner.service import SERVICE
from meshplane.provisioner.settings import ProvisionerSettings
from tests.e2e.stack import (
    Run,
    TopicLog,
    admin_connection,
    contract,
    created,
    dead_letters_for,
    input_id,
    kill_once_some_are_answered,
    provisioner_environment,
    publish,
    sql,
    wait_for_audit,
)

PASSWORD = "provisioner-e2e"


@dataclasses.dataclass
class OwnSnowlocal:
    data_dir: Path
    work_dir: Path
    port: int

    @contextmanager
    def running(self) -> Iterator[SnowlocalEndpoint]:
        with running_snowlocal(port=self.port, data_dir=self.data_dir, work_dir=self.work_dir) as endpoint:
            yield endpoint


@pytest.fixture
def own_snowlocal(tmp_path: Path) -> OwnSnowlocal:
    (tmp_path / "work").mkdir()
    return OwnSnowlocal(tmp_path / "data", tmp_path / "work", free_port(avoid=make_up_ports()))


def config(settings: dict[str, object], bootstrap: str, run: Run) -> ServiceConfig[ProvisionerSettings]:
    return SERVICE.test_config(
        snowflake=settings,
        bootstrap_servers=bootstrap,
        group_id=run.group_id,
        domains=run.domains,
        retry=RetrySettings(initial_seconds=0.2, max_seconds=2.0, budget_seconds=90.0),
    )


@contextmanager
def serving(own: OwnSnowlocal) -> Iterator[tuple[SnowlocalEndpoint, dict[str, object]]]:
    with own.running() as endpoint:
        yield endpoint, bootstrap_provisioner(endpoint, password=PASSWORD)


async def started(settings: dict[str, object], bootstrap: str, run: Run) -> ServiceApp[Provisioning]:
    cfg = config(settings, bootstrap, run)
    service = SERVICE.create_app(cfg, SnowflakeGateway(cfg.snowflake))
    await service.start()
    return service


@pytest.fixture
async def stack(
    own_snowlocal: OwnSnowlocal, kafka_bootstrap_servers: str, run: Run
) -> AsyncIterator[tuple[SnowlocalEndpoint, ServiceApp[Provisioning]]]:
    with serving(own_snowlocal) as (endpoint, settings):
        service = await started(settings, kafka_bootstrap_servers, run)
        try:
            yield endpoint, service
        finally:
            await service.stop()


async def test_a_product_is_provisioned_masked_and_audited_once_per_input(
    stack: tuple[SnowlocalEndpoint, ServiceApp[Provisioning]],
    kafka_bootstrap_servers: str,
    run: Run,
    audit_log: TopicLog,
    dead_letter_log: TopicLog,
) -> None:
    endpoint, service = stack
    sales, other = run.domain("sales"), run.domain("other")
    orders = created(sales, "orders")
    spoofed = dataclasses.replace(created(sales, "spoof"), topic=domain_topic(other, "product"))
    hostile_contract = contract(run.domain("evil"), "orders").model_dump(by_alias=True, exclude_none=True)
    hostile_contract["schema"][0]["properties"][0]["name"] = "x; DROP DATABASE X; --"
    base = created(run.domain("evil"), "orders")
    hostile = dataclasses.replace(base, value=json.dumps({"contract": hostile_contract}).encode())

    await publish(kafka_bootstrap_servers, [orders, orders, spoofed, hostile])
    inputs = {input_id(r) for r in (orders, spoofed, hostile)}
    events = await wait_for_audit(audit_log, inputs)
    # The duplicate delivery must have been processed too before we count.
    while sum(e.causation_id == input_id(orders) for e in events) < 2:
        events = await wait_for_audit(audit_log, inputs)
        await asyncio.sleep(0.5)

    provisioned = [e for e in events if isinstance(e.data, AuditProductProvisioned)]
    assert len(provisioned) == 2
    assert provisioned[0].id == provisioned[1].id, "a replay must carry the same audit id"
    first = provisioned[0].data
    assert isinstance(first, AuditProductProvisioned)
    assert first.domain_created is True
    # The tag, three SHOW (one request each: no warehouse wakes), the edition check, then the
    # 72-statement plan.
    assert first.round_trips == 6
    assert first.http_requests == 7  # the plan's request and the one result fetched with it

    rejected = {e.causation_id: e.data for e in events if isinstance(e.data, AuditEventRejected)}
    assert rejected[input_id(spoofed)].reason_code == "spoofed-domain"
    assert rejected[input_id(hostile)].reason_code == "unsafe-name"
    dead = await dead_letters_for(dead_letter_log, {spoofed.topic, hostile.topic})
    assert {d.value for d in dead} == {spoofed.value, hostile.value}
    # Only the product's own requests reached Snowflake: rejected input ran nothing.
    counted = service.metrics.snowflake_round_trips.labels()._value.get()
    assert counted == sum(p.data.round_trips for p in provisioned)  # type: ignore[attr-defined]

    layout = product_layout(sales, "orders", 1)
    port = port_layout(layout, "order_lines")
    admin = admin_connection(endpoint)
    try:
        assert [row["owner"] for row in sql(admin, f"SHOW DATABASES LIKE '{layout.domain.database}'")] == [
            layout.domain.admin_role
        ]
        assert sql(admin, f"SHOW DATABASES LIKE '{run.domain('evil').upper()}'") == []
        assert sql(admin, f"SHOW DATABASES LIKE '{other.upper()}'") == []
        table, view = ".".join(port.table), ".".join(port.view)
        sql(admin, "CREATE WAREHOUSE IF NOT EXISTS E2E_WH WAREHOUSE_SIZE = XSMALL")
        sql(admin, "USE WAREHOUSE E2E_WH")
        sql(
            admin,
            f"INSERT INTO {table} (ORDER_ID, LINE_NUMBER, CUSTOMER_EMAIL, CUSTOMER_NAME, AMOUNT_EUR) "
            "VALUES (1, 1, 'ada@example.com', 'Ada', 12.50)",
        )
        sql(admin, "CREATE ROLE IF NOT EXISTS E2E_READER_OUTSIDE")
        sql(admin, f"GRANT ROLE {layout.reader_role} TO ROLE E2E_READER_OUTSIDE")
        sql(admin, "GRANT USAGE ON WAREHOUSE E2E_WH TO ROLE E2E_READER_OUTSIDE")
        sql(
            admin,
            "CREATE USER IF NOT EXISTS E2E_OUTSIDER PASSWORD = 'outsider' DEFAULT_ROLE = E2E_READER_OUTSIDE",
        )
        sql(admin, "GRANT ROLE E2E_READER_OUTSIDE TO USER E2E_OUTSIDER")
        sql(admin, f"GRANT ROLE {layout.domain.engineer_role} TO USER ADMIN")
        clear = sql(
            admin_connection(endpoint, role=layout.domain.engineer_role, warehouse=layout.domain.warehouse),
            f"SELECT * FROM {view}",
        )
    finally:
        admin.close()
    assert clear[0]["CUSTOMER_EMAIL"] == "ada@example.com"
    outsider = admin_connection(
        endpoint, user="E2E_OUTSIDER", password="outsider", role="E2E_READER_OUTSIDE", warehouse="E2E_WH"
    )
    try:
        masked = sql(outsider, f"SELECT * FROM {view}")
    finally:
        outsider.close()
    assert masked[0]["CUSTOMER_EMAIL"] != "ada@example.com"
    assert masked[0]["ORDER_ID"] == 1


async def test_snowlocal_down_for_twenty_seconds_mid_stream_loses_nothing(
    own_snowlocal: OwnSnowlocal,
    kafka_bootstrap_servers: str,
    run: Run,
    audit_log: TopicLog,
    dead_letter_log: TopicLog,
) -> None:
    records = [created(run.domain(f"d{i % 3}"), f"p{i}") for i in range(12)]
    inputs = {input_id(r) for r in records}
    with serving(own_snowlocal) as (_endpoint, settings):
        service = await started(settings, kafka_bootstrap_servers, run)
        try:
            await publish(kafka_bootstrap_servers, records[:4])
            await wait_for_audit(audit_log, {input_id(r) for r in records[:4]})
            # snowlocal is stopped here, with the provisioner still consuming.
            rest = asyncio.create_task(publish(kafka_bootstrap_servers, records[4:], per_second=2))
        except BaseException:
            await service.stop()
            raise
    try:
        await asyncio.sleep(20)
        with own_snowlocal.running():
            await rest
            events = await wait_for_audit(audit_log, inputs, within=180)
    finally:
        await service.stop()
    outcomes = {e.causation_id: e.type for e in events}
    assert set(outcomes.values()) == {"mesh.audit.product.provisioned.v1"}, outcomes
    assert await dead_letters_for(dead_letter_log, {r.topic for r in records}) == []
    # The outage was felt: either the gateway surfaced a transient error that was retried, or a
    # request waited through it inside the connector's own network retries.
    registry, labels = service.metrics.registry, {"service": "provisioner"}
    retried = registry.get_sample_value("meshplane_transient_retries_total", labels) or 0
    waited = (registry.get_sample_value("meshplane_snowflake_request_seconds_count", labels) or 0) - (
        registry.get_sample_value("meshplane_snowflake_request_seconds_bucket", {**labels, "le": "5.0"}) or 0
    )
    assert retried + waited > 0, "no request met the outage"


def spawn_provisioner(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # the real entry point, as a container would run it
        [sys.executable, "-m", "meshplane.provisioner"],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


async def test_a_provisioner_killed_mid_stream_and_restarted_provisions_everything_once(
    own_snowlocal: OwnSnowlocal, kafka_bootstrap_servers: str, run: Run, tmp_path: Path, audit_log: TopicLog
) -> None:
    records = [created(run.domain(f"k{i % 3}"), f"p{i}") for i in range(30)]
    inputs = {input_id(r) for r in records}
    log = tmp_path / "provisioner.log"
    with serving(own_snowlocal) as (endpoint, settings):
        env = provisioner_environment(settings, bootstrap=kafka_bootstrap_servers, run=run)
        await publish(kafka_bootstrap_servers, records)
        process = spawn_provisioner(env, log)
        try:
            await kill_once_some_are_answered(process, audit_log, inputs, log)
            process = spawn_provisioner(env, log)
            events = await wait_for_audit(audit_log, inputs, within=240)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()

        by_input: dict[str, set[str]] = {}
        for event in events:
            assert event.type == "mesh.audit.product.provisioned.v1", event
            by_input.setdefault(event.causation_id or "", set()).add(event.id)
        assert set(by_input) == inputs
        assert all(len(ids) == 1 for ids in by_input.values()), "an input got two different audit ids"

        # The catalog has every product, each written by the event that provisioned it.
        catalog_reader = CatalogReader(
            KafkaSettings(bootstrap_servers=kafka_bootstrap_servers), client_id="e2e"
        )
        await catalog_reader.start()
        await catalog_reader.stop()
        for record in records:
            product = decode(record).data
            assert isinstance(product, ProductCreated)
            entry = catalog_reader.catalog.get(product.mesh.product_id)
            assert entry is not None, product.mesh.product_id
            (version,) = entry.versions
            assert (version.lifecycle, version.changed_by) == ("active", input_id(record))

        admin = admin_connection(endpoint)
        try:
            for domain_index in range(3):
                domain = run.domain(f"k{domain_index}")
                schemas = sql(admin, f"SHOW SCHEMAS LIKE 'P%' IN DATABASE {domain.upper()}")
                expected = {f"P{i}_V1" for i in range(30) if i % 3 == domain_index}
                assert sorted(str(row["name"]) for row in schemas if row["name"] != "PUBLIC") == sorted(
                    expected
                )
                reader = product_layout(domain, f"p{domain_index}", 1).reader_role
                grants = sql(admin, f"SHOW GRANTS TO ROLE {reader}")
                keys = [(g["privilege"], g["granted_on"], g["name"]) for g in grants]
                assert len(keys) == len(set(keys)), "a grant was made twice"
        finally:
            admin.close()
