"""Sharing end to end: real Kafka, real OPA, snowlocal; provisioner and sharing as their bootstrap users.

Marketing asks for sales' orders (pii, so the policy leaves it to the owner), sales approves for a
few seconds, marketing's analyst reads the product, and once the grant has expired the sweep
revokes it and the same query fails. A decision published on the consumer's topic is dead-lettered
as spoofed, and a decision on a request nobody made is refused with an audit event.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from open_data_contract_standard.model import OpenDataContractStandard

from meshplane.common.events import (
    AccessDecided,
    AccessRequested,
    AuditAccessExpired,
    AuditAccessFailed,
    AuditAccessGranted,
    AuditAccessPending,
    AuditAccessRevoked,
    AuditDriftDetected,
    AuditDriftRepaired,
    AuditEventRejected,
    AuditProductProvisioned,
    EventData,
    InternalConsumer,
    KafkaRecord,
    ProductCreated,
    ProductRetired,
    decode,
    domain_topic,
    encode,
)
from meshplane.common.kit import ServiceApp
from meshplane.common.settings import PolicySettings, RetrySettings
from meshplane.common.snowflake.gateway import SnowflakeGateway
from meshplane.devstack.bootstrap import as_environment, bootstrap_provisioner, bootstrap_sharing
from meshplane.devstack.endpoints import SnowlocalEndpoint
from meshplane.devstack.kafka import ensure_topics
from meshplane.devstack.net import free_port
from meshplane.devstack.opa import running_opa
from meshplane.provisioner.service import SERVICE as PROVISIONER
from meshplane.sharing.service import SERVICE as SHARING
from meshplane.sharing.sharing import Sharing
from meshplane.sharing.sweep import Sweeper
from tests.e2e.stack import (
    EXAMPLES,
    Run,
    TopicLog,
    created,
    dead_letters_for,
    input_id,
    kill_once_some_are_answered,
    publish,
    wait_for_audit,
)
from tests.integration.snowlocal.conftest import Sandbox, errno_of, query

pytestmark = pytest.mark.integration

#: Snowflake's "object does not exist or not authorized" (what a reader without the grant sees).
NOT_AUTHORIZED = 2003
RETRY = RetrySettings(initial_seconds=0.2, max_seconds=2.0, budget_seconds=60.0)


@contextlib.asynccontextmanager
async def running_mesh(
    endpoint: SnowlocalEndpoint, bootstrap: str, policy_url: str, run: Run
) -> AsyncIterator[ServiceApp[Sharing]]:
    """The provisioner and sharing, each as its bootstrap user, serving this run's domains."""
    sharing_settings = bootstrap_sharing(endpoint, password="sharing-e2e")
    provisioner_settings = bootstrap_provisioner(endpoint)
    provisioner_config = PROVISIONER.test_config(
        snowflake=provisioner_settings,
        bootstrap_servers=bootstrap,
        group_id=run.group_id,
        domains=run.domains,
        retry=RETRY,
    )
    sharing_config = SHARING.test_config(
        snowflake=sharing_settings,
        bootstrap_servers=bootstrap,
        group_id=f"sharing-{run.prefix}",
        domains=run.domains,
        retry=RETRY,
        ledger_topic=f"mesh.sharing-ledger-{run.prefix}",
        sweep_seconds=1.0,
        drift_seconds=2.0,
        policy=PolicySettings(url=policy_url, timeout_seconds=1.0),
    )
    provisioner = PROVISIONER.create_app(provisioner_config, SnowflakeGateway(provisioner_config.snowflake))
    sharing = SHARING.create_app(sharing_config, SnowflakeGateway(sharing_config.snowflake))
    await provisioner.start()
    await sharing.start()
    try:
        yield sharing
    finally:
        await sharing.stop()
        await provisioner.stop()


@pytest.fixture
async def mesh(
    snowlocal_endpoint: SnowlocalEndpoint, kafka_bootstrap_servers: str, opa_url: str, run: Run
) -> AsyncIterator[ServiceApp[Sharing]]:
    async with running_mesh(snowlocal_endpoint, kafka_bootstrap_servers, opa_url, run) as sharing:
        yield sharing


def asking(
    request_id: str, owner: str, product: str, consumer: str, duration: timedelta, purpose: str = "e2e"
) -> AccessRequested:
    """``consumer`` asks for ``owner.product`` v1 for itself."""
    return AccessRequested(
        request_id=request_id,
        domain=owner,
        product=product,
        major=1,
        requester=consumer,
        consumer=InternalConsumer(domain=consumer),
        purpose=purpose,
        duration=duration,
    )


def on_access_topic(event: EventData, domain: str) -> KafkaRecord:
    return encode(event, topic=domain_topic(domain, "access"), source="/tests")


async def provisioned(bootstrap: str, log: TopicLog, run: Run, records: list[KafkaRecord]) -> None:
    """Publish product events and wait until each is provisioned."""
    await publish(bootstrap, records)
    await wait_for(log, run.prefix, AuditProductProvisioned, count=len(records))


async def held_grants_become(mesh: ServiceApp[Sharing], count: int, within: float = 10.0) -> None:
    """The service's ledger holds ``count`` grants (its record follows the audit event by a moment)."""
    deadline = time.monotonic() + within
    while len(mesh.dependencies.ledger.state.grants) != count:
        assert time.monotonic() < deadline, f"{len(mesh.dependencies.ledger.state.grants)} grants held"
        await asyncio.sleep(0.05)


async def audits(log: TopicLog, prefix: str) -> list[EventData]:
    """This run's audit events (its domains carry the run's prefix)."""
    found = []
    for record in await log.read():
        data = decode(record).data
        if (getattr(data, "domain", None) or "").startswith(prefix):
            found.append(data)
    return found


async def wait_for(
    log: TopicLog, prefix: str, kind: type[EventData], count: int = 1, within: float = 90.0
) -> list[EventData]:
    deadline = time.monotonic() + within
    while True:
        found = [a for a in await audits(log, prefix) if isinstance(a, kind)]
        if len(found) >= count:
            return found
        if time.monotonic() > deadline:
            seen = [(type(a).__name__, getattr(a, "reason", None)) for a in await audits(log, prefix)]
            raise AssertionError(f"no {kind.__name__} within {within} s; this run's audit events: {seen}")
        await asyncio.sleep(0.3)


async def test_asked_approved_read_expired_and_spoofs_refused(
    mesh: ServiceApp[Sharing],
    kafka_bootstrap_servers: str,
    run: Run,
    audit_log: TopicLog,
    dead_letter_log: TopicLog,
    sandbox: Sandbox,
) -> None:
    sales, marketing = run.domain("sales"), run.domain("marketing")
    await provisioned(
        kafka_bootstrap_servers, audit_log, run, [created(sales, "orders"), created(marketing, "campaigns")]
    )

    ask = asking(f"{run.prefix}-1", sales, "orders", marketing, timedelta(days=7), "campaign attribution")
    await publish(kafka_bootstrap_servers, [on_access_topic(ask, marketing)])
    (pending,) = await wait_for(audit_log, run.prefix, AuditAccessPending)
    assert isinstance(pending, AuditAccessPending)
    assert pending.decision is not None
    assert pending.decision.approvers == ("sales-data-team",)  # the contract's owning team
    assert pending.statements == ()  # nothing ran before the owner decided

    analyst = sandbox.user_with_role(f"{marketing.upper()}_CONSUMER")
    select = f'SELECT COUNT(*) FROM "{sales.upper()}"."ORDERS_V1"."ORDER_LINES"'
    assert errno_of(analyst, select) == NOT_AUTHORIZED

    approve = AccessDecided(
        request_id=ask.request_id,
        domain=sales,
        product="orders",
        major=1,
        decision="approve",
        reason="attribution is an agreed use",
        duration=timedelta(seconds=4),
    )
    # The same decision published on the consumer's topic is a consumer approving itself: spoofed.
    spoofed = encode(approve, topic=domain_topic(marketing, "access"), source="/tests")
    unknown = encode(
        approve.model_copy(update={"request_id": f"{run.prefix}-never-asked"}),
        topic=domain_topic(sales, "access"),
        source="/tests",
    )
    await publish(kafka_bootstrap_servers, [spoofed, unknown])
    (failed,) = await wait_for(audit_log, run.prefix, AuditAccessFailed)
    assert isinstance(failed, AuditAccessFailed)
    assert "never-asked" in failed.reason
    assert failed.statements == ()
    letters = await dead_letters_for(dead_letter_log, {domain_topic(marketing, "access")})
    assert [r.header("mesh_deadletter_reason") for r in letters] == [b"spoofed-domain"]
    rejected = [decode(r).data for r in await audit_log.read() if decode(r).causation_id == input_id(spoofed)]
    assert [type(r) for r in rejected] == [AuditEventRejected]
    assert errno_of(analyst, select) == NOT_AUTHORIZED  # neither let anything through

    decided = encode(approve, topic=domain_topic(sales, "access"), source="/tests")
    await publish(kafka_bootstrap_servers, [decided, decided])  # delivered twice: granted once
    granted, again = await wait_for(audit_log, run.prefix, AuditAccessGranted, count=2)
    assert isinstance(granted, AuditAccessGranted)
    assert isinstance(again, AuditAccessGranted)
    assert again.expires_at == granted.expires_at  # the end is counted from the decision's own time
    assert granted.grant == f"{sales.upper()}__ORDERS_V1_READER"
    assert [s.sql for s in granted.statements] == [
        f'GRANT ROLE "{sales.upper()}__ORDERS_V1_READER" TO ROLE "{marketing.upper()}_CONSUMER";'
    ]
    assert query(analyst, select) == [(0,)]

    (expired,) = await wait_for(audit_log, run.prefix, AuditAccessExpired, within=60.0)
    assert isinstance(expired, AuditAccessExpired)
    assert expired.request_id == ask.request_id
    assert expired.expired_at == granted.expires_at
    assert [s.sql for s in expired.statements] == [
        f'REVOKE ROLE "{sales.upper()}__ORDERS_V1_READER" FROM ROLE "{marketing.upper()}_CONSUMER";'
    ]
    assert errno_of(analyst, select) == NOT_AUTHORIZED
    await held_grants_become(mesh, 0)
    # The approval delivered again after the grant ended is refused, not granted again.
    await publish(kafka_bootstrap_servers, [dataclasses.replace(decided)])
    late = (await wait_for(audit_log, run.prefix, AuditAccessFailed, count=2))[-1]
    assert isinstance(late, AuditAccessFailed)
    assert late.request_id == ask.request_id
    assert "would have ended" in late.reason
    assert late.statements == ()
    assert errno_of(analyst, select) == NOT_AUTHORIZED
    assert not [a for a in await audits(audit_log, run.prefix) if isinstance(a, AuditAccessGranted)][2:]


async def test_drift_on_a_reader_role_is_found_and_undone_without_a_gap(
    mesh: ServiceApp[Sharing],
    kafka_bootstrap_servers: str,
    run: Run,
    audit_log: TopicLog,
    sandbox: Sandbox,
) -> None:
    sales, marketing = run.domain("sales"), run.domain("marketing")
    await provisioned(
        kafka_bootstrap_servers, audit_log, run, [created(sales, "orders"), created(marketing, "campaigns")]
    )
    ask = asking(f"{run.prefix}-1", marketing, "campaigns", sales, timedelta(days=1), "revenue per campaign")
    approve = AccessDecided(
        request_id=ask.request_id,
        domain=marketing,
        product="campaigns",
        major=1,
        decision="approve",
        reason="ok",
    )
    await publish(kafka_bootstrap_servers, [on_access_topic(ask, sales)])
    await wait_for(audit_log, run.prefix, AuditAccessPending)  # the example contract has pii
    await publish(
        kafka_bootstrap_servers, [encode(approve, topic=domain_topic(marketing, "access"), source="/t")]
    )
    await wait_for(audit_log, run.prefix, AuditAccessGranted)

    reader = f"{marketing.upper()}__CAMPAIGNS_V1_READER"
    bystander = sandbox.name("BYSTANDER")
    sandbox.sql(f"CREATE ROLE {bystander}")
    sandbox.sql(f"REVOKE ROLE {reader} FROM ROLE {sales.upper()}_CONSUMER")  # removed by hand
    sandbox.sql(f"GRANT ROLE {reader} TO ROLE {bystander}")  # added by hand

    (repaired,) = await wait_for(audit_log, run.prefix, AuditDriftRepaired, within=60.0)
    assert isinstance(repaired, AuditDriftRepaired)
    assert {(d.kind, d.grantee) for d in repaired.drift} == {
        ("removed-by-hand", f"ROLE {sales.upper()}_CONSUMER"),
        ("added-by-hand", f"ROLE {bystander}"),
    }
    # Restored first, then revoked: the consumer is never without the grant it should hold.
    assert [s.sql.split(" ")[0] for s in repaired.statements] == ["GRANT", "REVOKE"]
    holders = {(row[2], row[3]) for row in query(sandbox.admin, f"SHOW GRANTS OF ROLE {reader}")}
    assert holders == {("ROLE", f"{sales.upper()}_CONSUMER")}
    detected = [a for a in await audits(audit_log, run.prefix) if type(a) is AuditDriftDetected]
    assert [d.drift for d in detected] == [repaired.drift]


async def test_while_opa_is_down_requests_wait_and_nothing_is_granted_then_they_are_decided(
    snowlocal_endpoint: SnowlocalEndpoint,
    kafka_bootstrap_servers: str,
    run: Run,
    audit_log: TopicLog,
    dead_letter_log: TopicLog,
) -> None:
    port = free_port()
    sales, marketing = run.domain("sales"), run.domain("marketing")
    async with running_mesh(snowlocal_endpoint, kafka_bootstrap_servers, f"http://127.0.0.1:{port}", run):
        await provisioned(
            kafka_bootstrap_servers,
            audit_log,
            run,
            [created(sales, "orders"), created(marketing, "campaigns")],
        )
        ask = asking(f"{run.prefix}-1", sales, "orders", marketing, timedelta(days=1), "attribution")
        hostile = on_access_topic(ask, marketing)
        value = json.loads(hostile.value)
        value["consumer"] = {"kind": "account", "account": "ORG.ACC'; DROP DATABASE X; --"}
        hostile = dataclasses.replace(hostile, value=json.dumps(value).encode())
        await publish(kafka_bootstrap_servers, [hostile])
        await publish(
            kafka_bootstrap_servers, [encode(ask, topic=domain_topic(marketing, "access"), source="/t")]
        )
        await asyncio.sleep(8)  # several attempts against no engine
        decided = [a for a in await audits(audit_log, run.prefix) if "Access" in type(a).__name__]
        assert decided == []  # the partition waits: nothing approved, denied or failed for want of an answer
        letters = await dead_letters_for(dead_letter_log, {domain_topic(marketing, "access")})
        assert [r.header("mesh_deadletter_reason") for r in letters] == [b"schema-error"]

        with running_opa(port=port):
            (pending,) = await wait_for(audit_log, run.prefix, AuditAccessPending, within=90.0)
        assert isinstance(pending, AuditAccessPending)
        assert pending.request_id == ask.request_id


#: Requests in the kill test: enough that a few are done, and not all, when the service is killed.
REQUESTS = 60


def internal_product(domain: str, product: str) -> KafkaRecord:
    """A product whose data is public and internal only: the policy approves a domain's request."""
    odcs = OpenDataContractStandard.from_file(str(EXAMPLES / "marketing-campaigns.odcs.yaml"))
    odcs = odcs.model_copy(update={"domain": domain, "dataProduct": product, "id": f"{domain}-{product}"})
    return encode(ProductCreated(contract=odcs), topic=domain_topic(domain, "product"), source="/tests")


async def test_sharing_killed_mid_stream_and_restarted_grants_everything_once_and_expires_on_time(
    snowlocal_endpoint: SnowlocalEndpoint,
    kafka_bootstrap_servers: str,
    opa_url: str,
    run: Run,
    audit_log: TopicLog,
    tmp_path: Path,
    sandbox: Sandbox,
) -> None:
    owner = run.domain("owner")
    consumers = [run.domain(f"c{i}") for i in range(3)]
    brief = run.domain("brief")  # asks for a short grant only: the restarted service must expire it
    sharing_settings = bootstrap_sharing(snowlocal_endpoint, password="sharing-e2e")
    provisioner_config = PROVISIONER.test_config(
        snowflake=bootstrap_provisioner(snowlocal_endpoint),
        bootstrap_servers=kafka_bootstrap_servers,
        group_id=run.group_id,
        domains=run.domains,
        retry=RETRY,
    )
    provisioner = PROVISIONER.create_app(provisioner_config, SnowflakeGateway(provisioner_config.snowflake))
    await provisioner.start()
    try:
        domains = (owner, *consumers, brief)
        await provisioned(
            kafka_bootstrap_servers, audit_log, run, [internal_product(d, "data") for d in domains]
        )
    finally:
        await provisioner.stop()

    def ask(n: int) -> KafkaRecord:
        consumer = brief if n >= REQUESTS - 3 else consumers[n % 3]
        event = asking(
            f"{run.prefix}-{n}",
            owner,
            "data",
            consumer,
            timedelta(seconds=20) if n >= REQUESTS - 3 else timedelta(days=1),
            "kill test",
        )
        return encode(event, topic=domain_topic(consumer, "access"), source="/tests")

    records = [ask(n) for n in range(REQUESTS)]
    inputs = {input_id(r) for r in records}
    env = {k: v for k, v in os.environ.items() if not k.startswith("MESH_")}
    env |= as_environment(sharing_settings) | {
        "MESH_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap_servers,
        "MESH_SHARING_GROUP_ID": f"sharing-{run.prefix}",
        "MESH_SHARING_DOMAINS": run.domains,
        "MESH_SHARING_LEDGER_TOPIC": f"mesh.sharing-ledger-{run.prefix}",
        "MESH_SHARING_SWEEP_SECONDS": "1",
        "MESH_POLICY_URL": opa_url,
        "MESH_HTTP_HOST": "127.0.0.1",
        "MESH_HTTP_PORT": "0",
    }
    log = tmp_path / "sharing.log"

    def spawn() -> subprocess.Popen[bytes]:
        return subprocess.Popen(  # the real entry point, as a container would run it
            [sys.executable, "-m", "meshplane.sharing"],
            env=env,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
        )

    await publish(kafka_bootstrap_servers, records)
    process = spawn()
    try:
        await kill_once_some_are_answered(process, audit_log, inputs, log)
        process = spawn()
        events = await wait_for_audit(audit_log, inputs, within=180)
        expired = await wait_for(audit_log, run.prefix, AuditAccessExpired, count=1, within=90)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()

    by_input: dict[str, set[str]] = {}
    for event in events:
        assert event.type == "mesh.audit.access.granted.v1", (event.type, log.read_text()[-3000:])
        by_input.setdefault(event.causation_id or "", set()).add(event.id)
    assert set(by_input) == inputs
    assert all(len(ids) == 1 for ids in by_input.values()), "a request got two different audit ids"
    (ended,) = expired
    assert isinstance(ended, AuditAccessExpired)
    assert ended.consumer == InternalConsumer(domain=brief)
    reader = f"{owner.upper()}__DATA_V1_READER"
    holders = {(row[2], row[3]) for row in query(sandbox.admin, f"SHOW GRANTS OF ROLE {reader}")}
    # Each long grant held once; the brief one revoked by the restarted service's sweep.
    assert holders == {("ROLE", f"{c.upper()}_CONSUMER") for c in consumers}


async def test_two_replicas_split_the_ledger_and_each_expiry_is_revoked_exactly_once(
    snowlocal_endpoint: SnowlocalEndpoint,
    kafka_bootstrap_servers: str,
    opa_url: str,
    run: Run,
    audit_log: TopicLog,
) -> None:
    owners = [run.domain(f"o{i}") for i in range(4)]
    consumers = [run.domain(f"c{i}") for i in range(2)]
    ledger_topic = f"mesh.sharing-ledger-{run.prefix}"
    # Four ledger partitions, so that the two replicas' sweeps each own some products.
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(ledger_topic, 4, 1, topic_configs={"cleanup.policy": "compact"})])
    finally:
        await admin.close()
    await ensure_topics(
        kafka_bootstrap_servers, *(domain_topic(c, "access") for c in consumers), partitions=4
    )
    async with running_mesh(snowlocal_endpoint, kafka_bootstrap_servers, opa_url, run) as first:
        config = SHARING.test_config(
            snowflake=bootstrap_sharing(snowlocal_endpoint, password="sharing-e2e"),
            bootstrap_servers=kafka_bootstrap_servers,
            group_id=f"sharing-{run.prefix}",
            domains=run.domains,
            retry=RETRY,
            ledger_topic=ledger_topic,
            sweep_seconds=1.0,
            policy=PolicySettings(url=opa_url),
        )
        second = SHARING.create_app(config, SnowflakeGateway(config.snowflake))
        await second.start()
        try:
            products = [internal_product(d, "data") for d in [*owners, *consumers]]
            await provisioned(kafka_bootstrap_servers, audit_log, run, products)
            asks = [
                asking(
                    f"{run.prefix}-{owner}-{consumer}",
                    owner,
                    "data",
                    consumer,
                    timedelta(seconds=6),
                    "two replicas",
                )
                for owner in owners
                for consumer in consumers
            ]
            await publish(
                kafka_bootstrap_servers,
                [encode(a, topic=domain_topic(a.requester, "access"), source="/tests") for a in asks],
            )
            await wait_for(audit_log, run.prefix, AuditAccessGranted, count=len(asks))
            await wait_for(audit_log, run.prefix, AuditAccessExpired, count=len(asks), within=90)
            await asyncio.sleep(3)  # a few more sweeps on both replicas: nothing more may come
            sweeps = [app.dependencies.sweeper for app in (first, second)]
            assert all(isinstance(s, Sweeper) for s in sweeps)
            owned = [s.partitions for s in sweeps if isinstance(s, Sweeper)]
        finally:
            await second.stop()
    assert owned[0], f"each replica owns some ledger partitions: {owned}"
    assert owned[1], f"each replica owns some ledger partitions: {owned}"
    assert not owned[0] & owned[1]
    assert owned[0] | owned[1] == {0, 1, 2, 3}
    expired = [a for a in await audits(audit_log, run.prefix) if isinstance(a, AuditAccessExpired)]
    assert sorted(a.request_id for a in expired) == sorted(a.request_id for a in asks)  # once each
    assert all(len(a.statements) == 1 for a in expired)


async def test_retiring_a_version_ends_every_grant_on_it_each_audited(
    mesh: ServiceApp[Sharing],
    kafka_bootstrap_servers: str,
    run: Run,
    audit_log: TopicLog,
) -> None:
    owner, consumers = run.domain("owner"), [run.domain("c1"), run.domain("c2")]
    products = [internal_product(d, "data") for d in (owner, *consumers)]
    await provisioned(kafka_bootstrap_servers, audit_log, run, products)
    asks = [asking(f"{run.prefix}-{c}", owner, "data", c, timedelta(days=1)) for c in consumers]
    await publish(kafka_bootstrap_servers, [on_access_topic(a, a.requester) for a in asks])
    await wait_for(audit_log, run.prefix, AuditAccessGranted, count=2)

    retired = ProductRetired(domain=owner, product="data", major=1, reason="replaced")
    await publish(
        kafka_bootstrap_servers, [encode(retired, topic=domain_topic(owner, "product"), source="/t")]
    )

    revoked = await wait_for(audit_log, run.prefix, AuditAccessRevoked, count=2, within=60)
    assert sorted(a.request_id for a in revoked if isinstance(a, AuditAccessRevoked)) == sorted(
        a.request_id for a in asks
    )
    assert all(isinstance(a, AuditAccessRevoked) and "retired" in a.reason for a in revoked)
    await held_grants_become(mesh, 0)
