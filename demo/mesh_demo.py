"""`make demo`: the mesh at work on the local stack — two data products provisioned from events.

1. Uses the `make up` stack when it answers (Kafka on $KAFKA_PORT, snowlocal on $SNOWLOCAL_PORT),
   else starts a broker and a snowlocal of its own on free ports;
2. bootstraps the provisioner's least-privilege identity (deploy/snowflake/bootstrap.sql);
3. starts the provisioner (its real entry point, as a container would) and waits for /readyz;
4. publishes the examples with `meshctl publish` (sales.orders has PII; marketing.campaigns none),
   then a product built from both (marketing.campaign_revenue, its lineage in `inputs`);
5. waits for their audit events and prints the audit timeline with `meshctl audit tail`, the
   catalog with `meshctl catalog list` and the new product's lineage with `meshctl lineage`;
6. shows the Snowflake objects and grants that now exist;
7. reads sales.orders' PII columns clear as a sales engineer and masked as a marketing analyst;
8. stops the provisioner (SIGTERM: it finishes its event and commits) and whatever it started.
"""

from __future__ import annotations

import asyncio
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

from meshplane.common.events import AUDIT_TOPIC, DEADLETTER_TOPIC
from meshplane.common.layout import port_layout, product_layout
from meshplane.devstack.bootstrap import as_environment, bootstrap_provisioner
from meshplane.devstack.endpoints import SnowlocalEndpoint
from meshplane.devstack.kafka import running_kafka
from meshplane.devstack.net import free_port, http_answers, kafka_answers
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


def wait_ready(port: int, provisioner: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if provisioner.poll() is not None:
            raise SystemExit(f"the provisioner exited early:\n{log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=3) as answer:
                print(f"   /readyz: {answer.read().decode()}")
                return
        except OSError:
            time.sleep(0.5)
    raise SystemExit("the provisioner did not become ready within 60 s")


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
    """The mesh's shared topics, as an operator would create them before deploying the services."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(t, num_partitions=1, replication_factor=1) for t in (AUDIT_TOPIC, DEADLETTER_TOPIC)
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
            # What the sharing service will do once an access request is approved:
            f"GRANT ROLE {sales.reader_role} TO ROLE {marketing_consumer}",
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
    with ExitStack() as stack:
        say("local stack")
        if kafka_answers("127.0.0.1", kafka_port) and http_answers("127.0.0.1", snowlocal_port):
            bootstrap = f"127.0.0.1:{kafka_port}"
            endpoint = SnowlocalEndpoint("127.0.0.1", snowlocal_port)
            print(f"   using the running stack: Kafka {bootstrap}, snowlocal {endpoint.url}")
        else:
            bootstrap = stack.enter_context(running_kafka()).bootstrap_servers
            endpoint = stack.enter_context(running_snowlocal())
            print(f"   started for this demo: Kafka {bootstrap}, snowlocal {endpoint.url}")

        say("bootstrap the provisioner's identity (deploy/snowflake/bootstrap.sql, run as ADMIN)")
        settings = bootstrap_provisioner(endpoint)
        print(f"   user {settings['user']}, role {settings['role']}, warehouse {settings['warehouse']}")

        asyncio.run(create_topics(bootstrap))
        http_port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("MESH_")}
        env.update(as_environment(settings))
        env.update(
            {
                "MESH_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
                "MESH_HTTP_HOST": "127.0.0.1",
                "MESH_HTTP_PORT": str(http_port),
            }
        )
        say(f"start the provisioner (python -m meshplane.provisioner; probes and metrics on :{http_port})")
        log = ROOT / ".stack" / "demo-provisioner.log"
        log.parent.mkdir(exist_ok=True)
        provisioner = subprocess.Popen(  # the service's own entry point
            [sys.executable, "-m", "meshplane.provisioner"],
            env=env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        try:
            wait_ready(http_port, provisioner, log)

            say("publish the example contracts (meshctl publish)")
            out = meshctl("publish", *(str(example) for example in EXAMPLES), env=env).strip()
            print("\n".join(f"   {line}" for line in out.splitlines()))
            asyncio.run(wait_for_audit(bootstrap, {line.rsplit("ce_id=", 1)[1] for line in out.splitlines()}))

            say("publish a product built from both (its inputs must be in the catalog)")
            derived = derived_contract(log.parent / "demo-campaign-revenue.odcs.yaml")
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
            show_masking(endpoint)
            say("the provisioner's metrics (/metrics, excerpt)")
            print("\n".join("   " + line for line in metrics_excerpt(http_port)))
        finally:
            provisioner.terminate()
            try:
                provisioner.wait(timeout=60)
            except subprocess.TimeoutExpired:
                provisioner.kill()
        print(f"   provisioner stopped on SIGTERM (exit code {provisioner.returncode}); its log: {log}")
    print("\n== done: everything this demo started has stopped")


if __name__ == "__main__":
    main()
