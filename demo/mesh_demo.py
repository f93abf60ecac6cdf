"""`make demo`: the mesh at work on the local stack — products provisioned, then shared, from events.

1. Uses the `make up` stack when it answers (Kafka on $KAFKA_PORT, snowlocal on $SNOWLOCAL_PORT,
   OPA on $OPA_PORT), else starts a broker, a snowlocal and an OPA of its own on free ports;
2. bootstraps the provisioner's and sharing's least-privilege identities (deploy/snowflake/);
3. starts the provisioner and sharing (their real entry points, as containers would) and waits for
   /readyz;
4. publishes the examples with `meshctl publish` (sales.orders has PII; marketing.campaigns none),
   then a product built from both (marketing.campaign_revenue, its lineage in `inputs`);
5. waits for their audit events and prints the audit timeline with `meshctl audit tail`, the
   catalog with `meshctl catalog list` and the new product's lineage with `meshctl lineage`;
6. shows the Snowflake objects and grants that now exist;
7. marketing asks for sales.orders (pii: the policy leaves it to the owner), sales approves, and
   marketing's analyst reads it, PII masked, while a sales engineer reads it clear;
8. sales asks for marketing.campaigns for ten seconds (approved by the policy); the query works,
   the grant expires, sharing's sweep revokes it, and the same query fails;
9. stops the services (SIGTERM: each finishes its batch and commits) and whatever it started.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path

import snowflake.connector
import yaml
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from meshplane.common.events import (
    AUDIT_TOPIC,
    DEADLETTER_TOPIC,
    domain_topic,
)
from meshplane.common.layout import port_layout, product_layout
from meshplane.devstack.bootstrap import as_environment, bootstrap_provisioner, bootstrap_sharing
from meshplane.devstack.endpoints import SnowlocalEndpoint
from meshplane.devstack.kafka import running_kafka
from meshplane.devstack.net import free_port, http_answers, kafka_answers
from meshplane.devstack.opa import running_opa
from meshplane.devstack.snowlocal import running_snowlocal

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = (ROOT / "examples" / "sales-orders.odcs.yaml", ROOT / "examples" / "marketing-campaigns.odcs.yaml")
DEMO_WAREHOUSE = "DEMO_WH"
DEMO_PASSWORD = "demo"  # noqa: S105  # local demo users on snowlocal


def say(title: str) -> None:
    print(f"\n== {title}", flush=True)


def table(rows: list[dict[str, object]], *columns: str) -> str:
    widths = [max([len(c)] + [len(str(r.get(c))) for r in rows]) for c in columns]
    lines = ["    " + " | ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += [
        "    " + " | ".join(str(r.get(c)).ljust(w) for c, w in zip(columns, widths, strict=True))
        for r in rows
    ]
    return "\n".join(lines)


def sql(connection: snowflake.connector.SnowflakeConnection, text: str) -> list[dict[str, object]]:
    with connection.cursor(snowflake.connector.DictCursor) as cursor:
        cursor.execute(text)
        return list(cursor.fetchall())


def meshctl(*args: str, env: dict[str, str]) -> str:
    done = subprocess.run(  # noqa: S603  # our own console script with fixed arguments
        [sys.executable, "-m", "meshplane.meshctl", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"meshctl {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def wait_ready(port: int, service: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if service.poll() is not None:
            raise SystemExit(f"{log.stem} exited early:\n{log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=3) as answer:
                print(f"   /readyz: {answer.read().decode()}")
                return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"{log.stem} did not become ready within 60 s")


def start_service(name: str, env: dict[str, str], port: int) -> tuple[subprocess.Popen[bytes], Path]:
    """``python -m meshplane.<name>`` with probes on ``port``; returns once /readyz answers."""
    log = ROOT / ".stack" / f"demo-{name}.log"
    log.parent.mkdir(exist_ok=True)
    service = subprocess.Popen(  # noqa: S603  # the service's own entry point
        [sys.executable, "-m", f"meshplane.{name}"],
        env=env | {"MESH_HTTP_HOST": "127.0.0.1", "MESH_HTTP_PORT": str(port)},
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    wait_ready(port, service, log)
    return service, log


def stop_service(name: str, service: subprocess.Popen[bytes], log: Path) -> None:
    service.terminate()
    try:
        service.wait(timeout=60)
    except subprocess.TimeoutExpired:
        service.kill()
    print(f"   {name} stopped on SIGTERM (exit code {service.returncode}); its log: {log}")


def derived_contract(path: Path) -> Path:
    """marketing.campaign_revenue: the campaigns contract under another name, built from both examples."""
    document = yaml.safe_load(EXAMPLES[1].read_text(encoding="utf-8"))
    document.update(
        id="5f0a7c1e-2b6d-4a8e-9c3f-1d2e3f4a5b6c",
        name="Campaign revenue",
        dataProduct="campaign_revenue",
        description={"purpose": "Revenue per campaign: campaigns joined with the orders they brought."},
    )
    document["customProperties"].append(
        {"property": "inputs", "value": ["sales.orders", "marketing.campaigns"]}
    )
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


async def create_topics(bootstrap: str) -> None:
    """The mesh's shared topics and the demo domains' access topics, as an operator would create them
    (before deploying the services; when onboarding a domain)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(t, num_partitions=1, replication_factor=1)
            for t in (
                AUDIT_TOPIC,
                DEADLETTER_TOPIC,
                *(domain_topic(d, "access") for d in ("sales", "marketing")),
            )
        ]
        missing = [topic for topic in wanted if topic.name not in existing]
        if missing:
            await admin.create_topics(missing)
    finally:
        await admin.close()


async def wait_for_audit(bootstrap: str, inputs: set[str], within: float = 90.0) -> None:
    """Read mesh.audit until every input id has caused at least one audit event."""
    consumer = AIOKafkaConsumer(
        AUDIT_TOPIC, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    try:
        deadline = time.monotonic() + within
        answered: set[str] = set()
        while not inputs <= answered:
            if time.monotonic() > deadline:
                raise SystemExit(f"no audit event for {sorted(inputs - answered)} within {within} s")
            for messages in (await consumer.getmany(timeout_ms=500)).values():
                for message in messages:
                    answered.add(dict(message.headers).get("ce_causationid", b"").decode())
    finally:
        await consumer.stop()


async def wait_for_access(
    bootstrap: str, request_id: str, fact: str, within: float = 90.0
) -> dict[str, object]:
    """The first ``mesh.audit.access.<fact>.v1`` event about ``request_id``, as JSON."""
    wanted = f"mesh.audit.access.{fact}.v1".encode()
    consumer = AIOKafkaConsumer(
        AUDIT_TOPIC, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    try:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            for messages in (await consumer.getmany(timeout_ms=500)).values():
                for message in messages:
                    if dict(message.headers).get("ce_type") != wanted:
                        continue
                    data: dict[str, object] = json.loads(message.value)
                    if data.get("request_id") == request_id:
                        return data
        raise SystemExit(f"no access.{fact} audit event for {request_id} within {within} s")
    finally:
        await consumer.stop()


def ask_for(env: dict[str, str], consumer: str, product_id: str, duration: str, purpose: str) -> str:
    """``consumer`` asks for version 1 of ``product_id`` (meshctl access request); returns the request id."""
    request_id = f"demo-{consumer}-{product_id}-{int(time.time())}"
    out = meshctl(
        "access",
        "request",
        product_id,
        "--as",
        consumer,
        "--duration",
        duration,
        "--purpose",
        purpose,
        "--request-id",
        request_id,
        env=env,
    )
    print(
        f"   meshctl access request {product_id} --as {consumer} --duration {duration}: {out.splitlines()[0]}"
    )
    return request_id


def access_line(audit: dict[str, object]) -> str:
    decision = audit.get("decision") or {}
    assert isinstance(decision, dict)
    said = f"{decision.get('outcome')}: {decision.get('reason')}" if decision else ""
    statements = audit.get("statements")
    ran = (
        "; ".join(str(s["sql"]) for s in statements if isinstance(s, dict))
        if isinstance(statements, list)
        else ""
    )
    ends = f" until {audit['expires_at']}" if "expires_at" in audit else ""
    lines = [f"   {said}{ends}"] if said else []
    return "\n".join([*lines, *([f"   ran: {ran}"] if ran else [])])


def show_objects(admin: snowflake.connector.SnowflakeConnection) -> None:
    sales = product_layout("sales", "orders", 1)
    say("Snowflake now holds (SHOW, run as ADMIN)")
    databases = [r for r in sql(admin, "SHOW DATABASES") if r["name"] in {"SALES", "MARKETING"}]
    print(table(databases, "name", "owner", "comment"))
    print(table(sql(admin, "SHOW SCHEMAS IN DATABASE SALES"), "name", "owner", "comment"))
    print(table(sql(admin, "SHOW WAREHOUSES"), "name", "state", "size", "owner"))
    print(table(sql(admin, "SHOW ROLES LIKE 'SALES%'"), "name", "owner"))
    print(f"-- SHOW GRANTS TO ROLE {sales.reader_role}:")
    print(table(sql(admin, f"SHOW GRANTS TO ROLE {sales.reader_role}"), "privilege", "granted_on", "name"))


def show_masking(endpoint: SnowlocalEndpoint) -> None:
    sales = product_layout("sales", "orders", 1)
    port = port_layout(sales, "order_lines")
    table_name, view = ".".join(port.table), ".".join(port.view)
    marketing_consumer = product_layout("marketing", "campaigns", 1).domain.consumer_role
    say(f"PII in {view}: clear for the owning domain, masked for everyone else")
    with snowflake.connector.connect(**endpoint.connect_kwargs()) as admin:
        for text in (
            f"CREATE WAREHOUSE IF NOT EXISTS {DEMO_WAREHOUSE} WAREHOUSE_SIZE = XSMALL AUTO_SUSPEND = 60",
            f"GRANT USAGE ON WAREHOUSE {DEMO_WAREHOUSE} TO ROLE {sales.domain.engineer_role}",
            f"GRANT USAGE ON WAREHOUSE {DEMO_WAREHOUSE} TO ROLE {marketing_consumer}",
            f"CREATE USER IF NOT EXISTS DEMO_SALES_ENGINEER PASSWORD = '{DEMO_PASSWORD}'",
            f"CREATE USER IF NOT EXISTS DEMO_MARKETING_ANALYST PASSWORD = '{DEMO_PASSWORD}'",
            f"GRANT ROLE {sales.domain.engineer_role} TO USER DEMO_SALES_ENGINEER",
            f"GRANT ROLE {marketing_consumer} TO USER DEMO_MARKETING_ANALYST",
        ):
            sql(admin, text)
    readers = (
        ("DEMO_SALES_ENGINEER", sales.domain.engineer_role),
        ("DEMO_MARKETING_ANALYST", marketing_consumer),
    )
    for index, (user, role) in enumerate(readers):
        kwargs = endpoint.connect_kwargs(
            user=user, password=DEMO_PASSWORD, role=role, warehouse=DEMO_WAREHOUSE
        )
        with snowflake.connector.connect(**kwargs) as connection:
            if index == 0 and not sql(connection, f"SELECT ORDER_ID FROM {table_name} LIMIT 1"):
                sql(
                    connection,
                    f"INSERT INTO {table_name} "
                    "(ORDER_ID, LINE_NUMBER, CUSTOMER_EMAIL, CUSTOMER_NAME, AMOUNT_EUR) "
                    "VALUES (1001, 1, 'ada@example.com', 'Ada Lovelace', 120.50), "
                    "(1002, 1, 'bob@example.com', 'Bob Hope', 80.00)",
                )
            rows = sql(
                connection,
                f"SELECT ORDER_ID, CUSTOMER_EMAIL, CUSTOMER_NAME, AMOUNT_EUR FROM {view} ORDER BY 1",
            )
        print(f"-- {user} (role {role}):")
        print(table(rows, "ORDER_ID", "CUSTOMER_EMAIL", "CUSTOMER_NAME", "AMOUNT_EUR"))


def read_as(endpoint: SnowlocalEndpoint, user: str, role: str, text: str) -> str:
    """What ``user`` (logged in with ``role``) gets for ``text``: the rows, or Snowflake's error."""
    kwargs = endpoint.connect_kwargs(user=user, password=DEMO_PASSWORD, role=role, warehouse=DEMO_WAREHOUSE)
    with snowflake.connector.connect(**kwargs) as connection:
        try:
            return f"{len(sql(connection, text))} rows"
        except snowflake.connector.errors.ProgrammingError as error:
            return f"refused: {error.errno} {(error.msg or '').splitlines()[-1:]}"


ANALYST = "DEMO_SALES_ANALYST"


def short_grant_scene(bootstrap: str, endpoint: SnowlocalEndpoint, env: dict[str, str]) -> None:
    campaigns = product_layout("marketing", "campaigns", 1)
    sales = product_layout("sales", "orders", 1).domain
    view = ".".join(port_layout(campaigns, "campaigns").view)
    say("sales asks for marketing.campaigns for 10 seconds (internal data: the policy approves)")
    with snowflake.connector.connect(**endpoint.connect_kwargs()) as admin:
        for text in (
            f"GRANT USAGE ON WAREHOUSE {DEMO_WAREHOUSE} TO ROLE {sales.consumer_role}",
            f"CREATE USER IF NOT EXISTS DEMO_SALES_ANALYST PASSWORD = '{DEMO_PASSWORD}'",
            f"GRANT ROLE {sales.consumer_role} TO USER DEMO_SALES_ANALYST",
        ):
            sql(admin, text)
    request_id = ask_for(env, "sales", "marketing.campaigns", "PT10S", "a quick look")
    granted = asyncio.run(wait_for_access(bootstrap, request_id, "granted"))
    print(access_line(granted))
    query = f"SELECT * FROM {view}"
    print(f"   DEMO_SALES_ANALYST: {query} -> {read_as(endpoint, ANALYST, sales.consumer_role, query)}")
    expired = asyncio.run(wait_for_access(bootstrap, request_id, "expired"))
    print(f"   expired at {expired['expired_at']}; sharing's sweep revoked it:")
    print(access_line(expired))
    print(f"   DEMO_SALES_ANALYST: {query} -> {read_as(endpoint, ANALYST, sales.consumer_role, query)}")


def pii_request_scene(bootstrap: str, env: dict[str, str]) -> None:
    say("marketing asks for sales.orders (pii: the policy leaves it to the owner, sales)")
    request_id = ask_for(env, "marketing", "sales.orders", "P30D", "campaign attribution")
    print(access_line(asyncio.run(wait_for_access(bootstrap, request_id, "pending"))))
    say("sales approves, for 7 of the 30 days asked (access.decided on mesh.sales.access)")
    out = meshctl(
        "access",
        "decide",
        "sales.orders",
        request_id,
        "--approve",
        "--reason",
        "attribution is an agreed use",
        "--duration",
        "P7D",
        env=env,
    )
    print(f"   meshctl access decide sales.orders {request_id} --approve --duration P7D: {out.strip()}")
    print(access_line(asyncio.run(wait_for_access(bootstrap, request_id, "granted"))))


def metrics_excerpt(port: int) -> list[str]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    wanted = (
        "meshplane_events_in_total{",
        "meshplane_audit_events_out_total{",
        "meshplane_snowflake_round_trips",
        "meshplane_snowflake_http_requests",
    )
    return [line for line in text.splitlines() if line.startswith(wanted) and "_created{" not in line]


def main() -> None:
    kafka_port = int(os.environ.get("KAFKA_PORT", "9092"))
    snowlocal_port = int(os.environ.get("SNOWLOCAL_PORT", "8765"))
    opa_port = int(os.environ.get("OPA_PORT", "8181"))
    with ExitStack() as stack:
        say("local stack")
        running = kafka_answers("127.0.0.1", kafka_port) and http_answers("127.0.0.1", snowlocal_port)
        if running and http_answers("127.0.0.1", opa_port):
            bootstrap = f"127.0.0.1:{kafka_port}"
            endpoint = SnowlocalEndpoint("127.0.0.1", snowlocal_port)
            policy_url = f"http://127.0.0.1:{opa_port}"
            print(
                f"   using the running stack: Kafka {bootstrap}, snowlocal {endpoint.url}, OPA {policy_url}"
            )
        else:
            bootstrap = stack.enter_context(running_kafka()).bootstrap_servers
            endpoint = stack.enter_context(running_snowlocal())
            policy_url = stack.enter_context(running_opa())
            print(f"   started for this demo: Kafka {bootstrap}, snowlocal {endpoint.url}, OPA {policy_url}")

        say("bootstrap the services' identities (deploy/snowflake/bootstrap*.sql, run as ADMIN)")
        settings = bootstrap_provisioner(endpoint)
        sharing_settings = bootstrap_sharing(endpoint)
        for values in (settings, sharing_settings):
            print(f"   user {values['user']}, role {values['role']}, warehouse {values['warehouse']}")

        asyncio.run(create_topics(bootstrap))
        env = {k: v for k, v in os.environ.items() if not k.startswith("MESH_")}
        env["MESH_KAFKA_BOOTSTRAP_SERVERS"] = bootstrap
        provisioner_env = env | as_environment(settings)
        sharing_env = env | as_environment(sharing_settings)
        sharing_env |= {"MESH_POLICY_URL": policy_url, "MESH_SHARING_SWEEP_SECONDS": "2"}
        http_port, sharing_port = free_port(), free_port()
        say(f"start the provisioner and sharing (probes on :{http_port} and :{sharing_port})")
        services = []
        try:
            services.append(("provisioner", *start_service("provisioner", provisioner_env, http_port)))
            services.append(("sharing", *start_service("sharing", sharing_env, sharing_port)))
            env = provisioner_env

            say("publish the example contracts (meshctl publish)")
            out = meshctl("publish", *(str(example) for example in EXAMPLES), env=env).strip()
            print("\n".join(f"   {line}" for line in out.splitlines()))
            asyncio.run(wait_for_audit(bootstrap, {line.rsplit("ce_id=", 1)[1] for line in out.splitlines()}))

            say("publish a product built from both (its inputs must be in the catalog)")
            derived = derived_contract(ROOT / ".stack" / "demo-campaign-revenue.odcs.yaml")
            out = meshctl("publish", str(derived), env=env).strip()
            print(f"   {derived.name}: {out}")
            asyncio.run(wait_for_audit(bootstrap, {out.rsplit("ce_id=", 1)[1]}))

            say("the audit timeline (meshctl audit tail)")
            print(meshctl("audit", "tail", env=env).rstrip())
            say("the catalog (meshctl catalog list; compacted topic mesh.catalog)")
            print("\n".join(f"   {line}" for line in meshctl("catalog", "list", env=env).splitlines()))
            say("lineage (meshctl lineage marketing.campaign_revenue, then --mermaid)")
            print(meshctl("lineage", "marketing.campaign_revenue", env=env).rstrip())
            print(meshctl("lineage", "marketing.campaign_revenue", "--mermaid", env=env).rstrip())

            with snowflake.connector.connect(**endpoint.connect_kwargs()) as admin:
                show_objects(admin)
            pii_request_scene(bootstrap, env)
            show_masking(endpoint)
            short_grant_scene(bootstrap, endpoint, env)
            say("the provisioner's metrics (/metrics, excerpt)")
            print("\n".join("   " + line for line in metrics_excerpt(http_port)))
            say("sharing's metrics (/metrics, excerpt)")
            print("\n".join("   " + line for line in metrics_excerpt(sharing_port)))
        finally:
            for name, service, log in reversed(services):
                stop_service(name, service, log)
    print("\n== done: everything this demo started has stopped")


if __name__ == "__main__":
    main()
