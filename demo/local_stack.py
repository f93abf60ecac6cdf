"""`make demo`: the local stack at work, end to end, through the project's own Snowflake gateway.

Uses the running `make up` stack when KAFKA_BOOTSTRAP_SERVERS and SNOWLOCAL_URL point at it, else
starts a broker and snowlocal of its own on free ports and stops them when done. It then:

1. provisions a small data product in snowlocal in ONE round trip (a plan of many statements):
   warehouse, database, managed-access schema, table, masking policy on a PII column, an owner
   role and a reader role with their grants, and a user for each;
2. reads the table as the owner (clear e-mail addresses) and as the reader (masked);
3. shows the grants snowlocal now holds;
4. sends an event through the Kafka broker with an idempotent producer and reads it back.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from contextlib import ExitStack

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from meshplane.common.settings import SnowflakeSettings
from meshplane.common.snowflake.gateway import SnowflakeGateway
from meshplane.common.snowflake.statements import Plan, Statement
from meshplane.devstack.endpoints import SnowlocalEndpoint
from meshplane.devstack.kafka import running_kafka
from meshplane.devstack.snowlocal import running_snowlocal

WAREHOUSE = "DEMO_WH"


def gateway(endpoint: SnowlocalEndpoint, user: str, password: str, role: str) -> SnowflakeGateway:
    return SnowflakeGateway(
        SnowflakeSettings(
            account="snowlocal",
            user=user,
            password=password,
            role=role,
            warehouse=WAREHOUSE,
            host=endpoint.host,
            port=endpoint.port,
            protocol="http",
        )
    )


def provisioning_plan() -> Plan:
    s = Statement
    return Plan.of(
        "demo data product: sales.orders",
        s("CREATE WAREHOUSE IF NOT EXISTS DEMO_WH WAREHOUSE_SIZE = XSMALL AUTO_SUSPEND = 60"),
        s("CREATE OR REPLACE DATABASE SALES COMMENT = %(comment)s", {"comment": "owned by the sales domain"}),
        s("CREATE SCHEMA SALES.ORDERS WITH MANAGED ACCESS"),
        s("CREATE TABLE SALES.ORDERS.ORDERS (ID INT, CUSTOMER_EMAIL VARCHAR, AMOUNT NUMBER(10, 2))"),
        s(
            "INSERT INTO SALES.ORDERS.ORDERS VALUES (1, %(a)s, 120.50), (2, %(b)s, 80.00)",
            {"a": "ada@example.com", "b": "bob@example.com"},
        ),
        s("CREATE ROLE IF NOT EXISTS SALES_OWNER"),
        s("CREATE ROLE IF NOT EXISTS SALES_READER"),
        s(
            "CREATE OR REPLACE MASKING POLICY SALES.ORDERS.PII_MASK AS (VAL STRING) RETURNS STRING -> "
            "CASE WHEN IS_ROLE_IN_SESSION('SALES_OWNER') THEN VAL ELSE '***MASKED***' END"
        ),
        s(
            "ALTER TABLE SALES.ORDERS.ORDERS MODIFY COLUMN CUSTOMER_EMAIL "
            "SET MASKING POLICY SALES.ORDERS.PII_MASK"
        ),
        s("GRANT USAGE ON WAREHOUSE DEMO_WH TO ROLE SALES_OWNER"),
        s("GRANT USAGE ON WAREHOUSE DEMO_WH TO ROLE SALES_READER"),
        s("GRANT USAGE ON DATABASE SALES TO ROLE SALES_READER"),
        s("GRANT USAGE ON SCHEMA SALES.ORDERS TO ROLE SALES_READER"),
        s("GRANT SELECT ON ALL TABLES IN SCHEMA SALES.ORDERS TO ROLE SALES_READER"),
        s("GRANT ROLE SALES_READER TO ROLE SALES_OWNER"),
        s("CREATE USER IF NOT EXISTS SALES_ANALYST PASSWORD = 'analyst' DEFAULT_ROLE = SALES_READER"),
        s("CREATE USER IF NOT EXISTS SALES_LEAD PASSWORD = 'lead' DEFAULT_ROLE = SALES_OWNER"),
        s("GRANT ROLE SALES_READER TO USER SALES_ANALYST"),
        s("GRANT ROLE SALES_OWNER TO USER SALES_LEAD"),
    )


def table(rows: tuple[dict[str, object], ...], *columns: str) -> str:
    lines = ["    " + " | ".join(f"{c:<22}" for c in columns)]
    lines += ["    " + " | ".join(f"{row[c]!s:<22}" for c in columns) for row in rows]
    return "\n".join(lines)


def snowflake_part(endpoint: SnowlocalEndpoint) -> None:
    print(f"== snowlocal at {endpoint.url}")
    admin = gateway(endpoint, "ADMIN", "admin", "ACCOUNTADMIN")
    plan = provisioning_plan()
    result = admin.execute_blocking(plan, query_tag="meshplane-demo")
    print(f"-- provisioned {plan.description!r}: {len(plan)} statements in one round trip")
    print(f"   query ids: {[r.query_id for r in result.results][:3]} ...")
    select = Statement("SELECT ID, CUSTOMER_EMAIL, AMOUNT FROM SALES.ORDERS.ORDERS ORDER BY ID")
    for user, password, role in (
        ("SALES_LEAD", "lead", "SALES_OWNER"),
        ("SALES_ANALYST", "analyst", "SALES_READER"),
    ):
        reader = gateway(endpoint, user, password, role)
        rows = reader.query_blocking(select)
        print(f"-- {user} reads with role {role}:")
        print(table(rows, "ID", "CUSTOMER_EMAIL", "AMOUNT"))
        reader.close()
    grants = admin.query_blocking(Statement("SHOW GRANTS TO ROLE SALES_READER"))
    print("-- SHOW GRANTS TO ROLE SALES_READER:")
    print(table(grants, "privilege", "granted_on", "name"))
    admin.close()


async def kafka_part(bootstrap: str) -> None:
    print(f"== Kafka at {bootstrap}")
    topic = f"mesh.demo.product.{uuid.uuid4().hex[:6]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
    await producer.start()
    await producer.send_and_wait(
        topic,
        b'{"product": "orders", "domain": "sales"}',
        key=b"sales.orders",
        headers=[("ce_type", b"mesh.product.created.v1"), ("ce_id", uuid.uuid4().hex.encode())],
    )
    await producer.stop()
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    message = await asyncio.wait_for(consumer.getone(), timeout=30)
    await consumer.stop()
    print(
        f"-- {topic}: key={message.key!r} type={dict(message.headers)['ce_type']!r} value={message.value!r}"
    )


def main() -> None:
    with ExitStack() as stack:
        bootstrap = (
            os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
            or stack.enter_context(running_kafka()).bootstrap_servers
        )
        url = os.environ.get("SNOWLOCAL_URL")
        endpoint = SnowlocalEndpoint.from_url(url) if url else stack.enter_context(running_snowlocal())
        snowflake_part(endpoint)
        asyncio.run(kafka_part(bootstrap))
    print("== done: everything this demo started has stopped")


if __name__ == "__main__":
    main()
