"""The privilege matrix: denied without grants, allowed with them, denied again once revoked."""

from __future__ import annotations

from tests.integration.snowlocal.conftest import Sandbox, errno_of, query


def _product(sandbox: Sandbox) -> str:
    db = sandbox.name("DB")
    sandbox.sql(f"CREATE DATABASE {db}")
    sandbox.sql(f"CREATE TABLE {db}.PUBLIC.ORDERS (ID INT, EMAIL VARCHAR)")
    sandbox.sql(f"INSERT INTO {db}.PUBLIC.ORDERS VALUES (1, 'a@example.com')")
    return db


def test_no_grants_denied_granted_reads_revoked_denied(sandbox: Sandbox) -> None:
    db, role = _product(sandbox), sandbox.name("READER")
    sandbox.sql(f"CREATE ROLE {role}")
    reader = sandbox.user_with_role(role)
    table = f"{db}.PUBLIC.ORDERS"
    assert errno_of(reader, f"SELECT * FROM {table}") == 2003
    sandbox.sql(f"GRANT USAGE ON DATABASE {db} TO ROLE {role}")
    sandbox.sql(f"GRANT USAGE ON SCHEMA {db}.PUBLIC TO ROLE {role}")
    assert errno_of(reader, f"SELECT * FROM {table}") == 2003, "usage alone does not read the table"
    sandbox.sql(f"GRANT SELECT ON TABLE {table} TO ROLE {role}")
    assert query(reader, f"SELECT ID FROM {table}") == [(1,)]
    sandbox.sql(f"REVOKE SELECT ON TABLE {table} FROM ROLE {role}")
    assert errno_of(reader, f"SELECT * FROM {table}") == 2003
    sandbox.sql(f"GRANT SELECT ON TABLE {table} TO ROLE {role}")
    sandbox.sql(f"REVOKE USAGE ON SCHEMA {db}.PUBLIC FROM ROLE {role}")
    assert errno_of(reader, f"SELECT * FROM {table}") == 2003, "SELECT without USAGE on the schema is denied"


def test_grant_reaches_a_role_through_the_hierarchy(sandbox: Sandbox) -> None:
    db, child, parent = _product(sandbox), sandbox.name("CHILD"), sandbox.name("PARENT")
    sandbox.sql(f"CREATE ROLE {child}")
    sandbox.sql(f"CREATE ROLE {parent}")
    for grant in (
        f"USAGE ON DATABASE {db}",
        f"USAGE ON SCHEMA {db}.PUBLIC",
        f"SELECT ON TABLE {db}.PUBLIC.ORDERS",
    ):
        sandbox.sql(f"GRANT {grant} TO ROLE {child}")
    conn = sandbox.user_with_role(parent)
    assert errno_of(conn, f"SELECT * FROM {db}.PUBLIC.ORDERS") == 2003
    sandbox.sql(f"GRANT ROLE {child} TO ROLE {parent}")
    assert query(conn, f"SELECT ID FROM {db}.PUBLIC.ORDERS") == [(1,)]
    sandbox.sql(f"REVOKE ROLE {child} FROM ROLE {parent}")
    assert errno_of(conn, f"SELECT * FROM {db}.PUBLIC.ORDERS") == 2003


def test_future_grant_covers_a_table_created_after_it(sandbox: Sandbox) -> None:
    db, role = _product(sandbox), sandbox.name("READER")
    sandbox.sql(f"CREATE ROLE {role}")
    sandbox.sql(f"GRANT USAGE ON DATABASE {db} TO ROLE {role}")
    sandbox.sql(f"GRANT USAGE ON SCHEMA {db}.PUBLIC TO ROLE {role}")
    sandbox.sql(f"GRANT SELECT ON FUTURE TABLES IN SCHEMA {db}.PUBLIC TO ROLE {role}")
    conn = sandbox.user_with_role(role)
    assert errno_of(conn, f"SELECT * FROM {db}.PUBLIC.ORDERS") == 2003, (
        "future grants do not reach existing tables"
    )
    sandbox.sql(f"CREATE TABLE {db}.PUBLIC.LATER (X INT)")
    sandbox.sql(f"INSERT INTO {db}.PUBLIC.LATER VALUES (5)")
    assert query(conn, f"SELECT X FROM {db}.PUBLIC.LATER") == [(5,)]


def test_secure_view_reader_needs_no_grant_on_its_base_table(sandbox: Sandbox) -> None:
    db, role = _product(sandbox), sandbox.name("VIEWER")
    sandbox.sql(f"CREATE SECURE VIEW {db}.PUBLIC.ORDER_IDS AS SELECT ID FROM {db}.PUBLIC.ORDERS")
    sandbox.sql(f"CREATE ROLE {role}")
    for grant in (
        f"USAGE ON DATABASE {db}",
        f"USAGE ON SCHEMA {db}.PUBLIC",
        f"SELECT ON VIEW {db}.PUBLIC.ORDER_IDS",
    ):
        sandbox.sql(f"GRANT {grant} TO ROLE {role}")
    conn = sandbox.user_with_role(role)
    assert query(conn, f"SELECT ID FROM {db}.PUBLIC.ORDER_IDS") == [(1,)]
    assert errno_of(conn, f"SELECT * FROM {db}.PUBLIC.ORDERS") == 2003
    views = {r[1]: r for r in sandbox.sql(f"SHOW VIEWS IN SCHEMA {db}.PUBLIC")}
    assert views["ORDER_IDS"][8] == "true"


def test_writes_need_their_own_privileges(sandbox: Sandbox) -> None:
    db, role = _product(sandbox), sandbox.name("WRITER")
    sandbox.sql(f"CREATE ROLE {role}")
    for grant in (
        f"USAGE ON DATABASE {db}",
        f"USAGE ON SCHEMA {db}.PUBLIC",
        f"SELECT ON TABLE {db}.PUBLIC.ORDERS",
    ):
        sandbox.sql(f"GRANT {grant} TO ROLE {role}")
    conn = sandbox.user_with_role(role)
    assert errno_of(conn, f"INSERT INTO {db}.PUBLIC.ORDERS VALUES (2, 'b')") == 3001
    sandbox.sql(f"GRANT INSERT ON TABLE {db}.PUBLIC.ORDERS TO ROLE {role}")
    query(conn, f"INSERT INTO {db}.PUBLIC.ORDERS VALUES (2, 'b')")
    assert errno_of(conn, f"DELETE FROM {db}.PUBLIC.ORDERS") == 3001
    assert sandbox.sql(f"SELECT COUNT(*) FROM {db}.PUBLIC.ORDERS") == [(2,)]
