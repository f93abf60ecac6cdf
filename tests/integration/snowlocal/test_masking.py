"""Masking policies through the real connector: DDL, column and tag attachment, and masked reads.

Behaviour follows https://docs.snowflake.com/en/user-guide/security-column-intro and
https://docs.snowflake.com/en/user-guide/tag-based-masking-policies : a column is masked when read,
for the role of the session reading it, wherever the query reads it (SELECT *, WHERE, views).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from snowflake.connector import SnowflakeConnection

from tests.integration.snowlocal.conftest import Sandbox, errno_of, query


@dataclass
class Setup:
    db: str
    table: str  # fully qualified
    policy: str  # fully qualified
    clear: str  # the role that sees clear values
    reader: str  # a role that sees masked values
    clear_conn: SnowflakeConnection
    reader_conn: SnowflakeConnection


def _setup(sandbox: Sandbox) -> Setup:
    """A table with an email column, a policy showing it clear to one role only, and two users."""
    db = sandbox.name("MDB")
    clear, reader = sandbox.name("CLEAR"), sandbox.name("READER")
    table, policy = f"{db}.PUBLIC.CUSTOMERS", f"{db}.PUBLIC.EMAIL_MASK"
    sandbox.sql(f"USE WAREHOUSE {sandbox.warehouse}")
    sandbox.sql(f"CREATE DATABASE {db}")
    sandbox.sql(f"CREATE TABLE {table} (ID INT, EMAIL VARCHAR, NAME VARCHAR)")
    sandbox.sql(f"INSERT INTO {table} VALUES (1, 'a@x.com', 'ann'), (2, 'b@x.com', 'bob')")
    sandbox.sql(
        f"CREATE MASKING POLICY {policy} AS (val STRING) RETURNS STRING -> "
        f"CASE WHEN CURRENT_ROLE() IN ('{clear}') THEN val ELSE '***MASKED***' END COMMENT = 'emails'"
    )
    for role in (clear, reader):
        sandbox.sql(f"CREATE ROLE {role}")
        sandbox.sql(f"GRANT USAGE ON DATABASE {db} TO ROLE {role}")
        sandbox.sql(f"GRANT USAGE ON SCHEMA {db}.PUBLIC TO ROLE {role}")
        sandbox.sql(f"GRANT SELECT ON TABLE {table} TO ROLE {role}")
    return Setup(
        db, table, policy, clear, reader, sandbox.user_with_role(clear), sandbox.user_with_role(reader)
    )


def test_masked_for_one_role_clear_for_another(sandbox: Sandbox) -> None:
    s = _setup(sandbox)
    sandbox.sql(f"ALTER TABLE {s.table} MODIFY COLUMN EMAIL SET MASKING POLICY {s.policy}")
    text = f"SELECT ID, EMAIL FROM {s.table} ORDER BY ID"
    assert query(s.clear_conn, text) == [(1, "a@x.com"), (2, "b@x.com")]
    assert query(s.reader_conn, text) == [(1, "***MASKED***"), (2, "***MASKED***")]
    # SELECT * keeps column names and order; other columns are untouched.
    with s.reader_conn.cursor() as cur:
        cur.execute(f"SELECT * FROM {s.table} ORDER BY ID")
        assert [d.name for d in cur.description] == ["ID", "EMAIL", "NAME"]
        assert cur.fetchall() == [(1, "***MASKED***", "ann"), (2, "***MASKED***", "bob")]
    # Qualified references and joins read the masked column too.
    joined = query(
        s.reader_conn,
        f"SELECT c.EMAIL, d.EMAIL FROM {s.table} c JOIN {s.table} AS d ON c.ID = d.ID WHERE c.ID = 1",
    )
    assert joined == [("***MASKED***", "***MASKED***")]


def test_where_filters_on_masked_values(sandbox: Sandbox) -> None:
    s = _setup(sandbox)
    sandbox.sql(f"ALTER TABLE {s.table} ALTER COLUMN EMAIL SET MASKING POLICY {s.policy}")
    assert query(s.reader_conn, f"SELECT COUNT(*) FROM {s.table} WHERE EMAIL = 'a@x.com'") == [(0,)]
    assert query(s.reader_conn, f"SELECT COUNT(*) FROM {s.table} WHERE EMAIL = '***MASKED***'") == [(2,)]
    assert query(s.clear_conn, f"SELECT COUNT(*) FROM {s.table} WHERE EMAIL = 'a@x.com'") == [(1,)]


def test_is_role_in_session_follows_the_role_hierarchy(sandbox: Sandbox) -> None:
    s = _setup(sandbox)
    senior = sandbox.name("SENIOR")
    policy = f"{s.db}.PUBLIC.HIER_MASK"
    sandbox.sql(
        f"CREATE MASKING POLICY {policy} AS (val STRING) RETURNS STRING -> "
        f"CASE WHEN IS_ROLE_IN_SESSION('{s.clear}') THEN val ELSE '***' END"
    )
    sandbox.sql(f"ALTER TABLE {s.table} MODIFY COLUMN EMAIL SET MASKING POLICY {policy}")
    sandbox.sql(f"CREATE ROLE {senior}")
    sandbox.sql(f"GRANT ROLE {s.clear} TO ROLE {senior}")
    senior_conn = sandbox.user_with_role(senior)
    text = f"SELECT EMAIL FROM {s.table} ORDER BY ID"
    assert query(senior_conn, text) == [("a@x.com",), ("b@x.com",)]
    assert query(s.reader_conn, text) == [("***",), ("***",)]


def test_unset_restores_clear_values_and_force_replaces(sandbox: Sandbox) -> None:
    s = _setup(sandbox)
    other = f"{s.db}.PUBLIC.OTHER_MASK"
    sandbox.sql(f"CREATE MASKING POLICY {other} AS (v VARCHAR) RETURNS VARCHAR -> 'other'")
    sandbox.sql(f"ALTER TABLE {s.table} MODIFY COLUMN EMAIL SET MASKING POLICY {s.policy}")
    # One policy per column: replacing it needs FORCE.
    assert (
        errno_of(sandbox.admin, f"ALTER TABLE {s.table} MODIFY COLUMN EMAIL SET MASKING POLICY {other}") > 0
    )
    sandbox.sql(f"ALTER TABLE {s.table} MODIFY COLUMN EMAIL SET MASKING POLICY {other} FORCE")
    assert query(s.clear_conn, f"SELECT EMAIL FROM {s.table} WHERE ID = 1") == [("other",)]
    # An attached policy cannot be dropped.
    assert errno_of(sandbox.admin, f"DROP MASKING POLICY {other}") > 0
    sandbox.sql(f"ALTER TABLE {s.table} MODIFY COLUMN EMAIL UNSET MASKING POLICY")
    assert query(s.reader_conn, f"SELECT EMAIL FROM {s.table} ORDER BY ID") == [("a@x.com",), ("b@x.com",)]
    sandbox.sql(f"DROP MASKING POLICY {other}")


def test_policy_type_must_match_the_column(sandbox: Sandbox) -> None:
    s = _setup(sandbox)
    assert (
        errno_of(sandbox.admin, f"ALTER TABLE {s.table} MODIFY COLUMN ID SET MASKING POLICY {s.policy}") > 0
    )
    assert (
        errno_of(sandbox.admin, f"ALTER TABLE {s.table} MODIFY COLUMN NOPE SET MASKING POLICY {s.policy}")
        == 904
    )


def test_setting_a_policy_needs_apply(sandbox: Sandbox) -> None:
    s = _setup(sandbox)
    owner = sandbox.name("TABLE_OWNER")
    sandbox.sql(f"CREATE ROLE {owner}")
    sandbox.sql(f"GRANT USAGE ON DATABASE {s.db} TO ROLE {owner}")
    sandbox.sql(f"GRANT USAGE ON SCHEMA {s.db}.PUBLIC TO ROLE {owner}")
    sandbox.sql(f"GRANT OWNERSHIP ON TABLE {s.table} TO ROLE {owner} COPY CURRENT GRANTS")
    conn = sandbox.user_with_role(owner)
    attach = f"ALTER TABLE {s.table} MODIFY COLUMN EMAIL SET MASKING POLICY {s.policy}"
    # Owning the table is not enough: the policy is invisible without a privilege on it ...
    assert errno_of(conn, attach) == 2003
    # ... and a reader with APPLY but no ownership of the table may not either.
    sandbox.sql(f"GRANT APPLY ON MASKING POLICY {s.policy} TO ROLE {s.reader}")
    assert errno_of(s.reader_conn, attach) == 3001
    # APPLY on the policy plus OWNERSHIP of the table (the hybrid model) may.
    sandbox.sql(f"GRANT APPLY ON MASKING POLICY {s.policy} TO ROLE {owner}")
    query(conn, attach)
    assert query(s.reader_conn, f"SELECT EMAIL FROM {s.table} WHERE ID = 1") == [("***MASKED***",)]
    # So may APPLY MASKING POLICY on the account (the centralized model).
    sandbox.sql(f"GRANT APPLY MASKING POLICY ON ACCOUNT TO ROLE {s.reader}")
    query(s.reader_conn, f"ALTER TABLE {s.table} MODIFY COLUMN EMAIL UNSET MASKING POLICY")
    sandbox.sql(f"REVOKE APPLY MASKING POLICY ON ACCOUNT FROM ROLE {s.reader}")


def test_creating_a_policy_needs_the_schema_privilege(sandbox: Sandbox) -> None:
    s = _setup(sandbox)
    text = f"CREATE MASKING POLICY {s.db}.PUBLIC.MINE AS (v STRING) RETURNS STRING -> v"
    assert errno_of(s.reader_conn, text) == 3001
    sandbox.sql(f"GRANT CREATE MASKING POLICY ON SCHEMA {s.db}.PUBLIC TO ROLE {s.reader}")
    query(s.reader_conn, text)
    shown = query(s.reader_conn, f"SHOW MASKING POLICIES LIKE 'MINE' IN SCHEMA {s.db}.PUBLIC")
    assert [(r[1], r[5]) for r in shown] == [("MINE", s.reader)]


def test_show_and_describe_masking_policies(sandbox: Sandbox) -> None:
    s = _setup(sandbox)
    names, rows = sandbox.sql_with_columns(f"SHOW MASKING POLICIES IN DATABASE {s.db}")
    assert names == [
        "created_on",
        "name",
        "database_name",
        "schema_name",
        "kind",
        "owner",
        "comment",
        "owner_role_type",
        "options",
    ]
    assert [r[1:8] for r in rows] == [
        ("EMAIL_MASK", s.db, "PUBLIC", "MASKING_POLICY", "ACCOUNTADMIN", "emails", "ROLE")
    ]
    # The reader holds no privilege on the policy, so it does not see it.
    assert query(s.reader_conn, f"SHOW MASKING POLICIES IN DATABASE {s.db}") == []
    described = sandbox.sql(f"DESCRIBE MASKING POLICY {s.policy}")
    assert described[0][:3] == ("EMAIL_MASK", "(VAL STRING)", "STRING")
    sandbox.sql(f"ALTER MASKING POLICY {s.policy} SET BODY -> 'changed'")
    sandbox.sql(f"ALTER TABLE {s.table} MODIFY COLUMN EMAIL SET MASKING POLICY {s.policy}")
    assert query(s.clear_conn, f"SELECT EMAIL FROM {s.table} WHERE ID = 1") == [("changed",)]


def test_tag_based_masking_on_column_and_table(sandbox: Sandbox) -> None:
    s = _setup(sandbox)
    tag = f"{s.db}.PUBLIC.PII"
    number_policy = f"{s.db}.PUBLIC.NUMBER_MASK"
    sandbox.sql(f"CREATE TAG {tag}")
    sandbox.sql(
        f"CREATE MASKING POLICY {number_policy} AS (val NUMBER) RETURNS NUMBER -> "
        f"CASE WHEN CURRENT_ROLE() = '{s.clear}' THEN val ELSE -1 END"
    )
    sandbox.sql(f"ALTER TAG {tag} SET MASKING POLICY {s.policy}, MASKING POLICY {number_policy}")
    text = f"SELECT ID, EMAIL, NAME FROM {s.table} ORDER BY ID"
    # The tag on one column masks that column only.
    sandbox.sql(f"ALTER TABLE {s.table} MODIFY COLUMN EMAIL SET TAG {tag} = 'email'")
    assert query(s.reader_conn, text) == [(1, "***MASKED***", "ann"), (2, "***MASKED***", "bob")]
    assert query(s.clear_conn, text) == [(1, "a@x.com", "ann"), (2, "b@x.com", "bob")]
    # On the table, every column of a matching type is masked: strings and numbers alike.
    sandbox.sql(f"ALTER TABLE {s.table} SET TAG {tag} = 'table'")
    assert query(s.reader_conn, text) == [(-1, "***MASKED***", "***MASKED***")] * 2
    # A policy set on the column directly wins over the tag's.
    direct = f"{s.db}.PUBLIC.DIRECT_MASK"
    sandbox.sql(f"CREATE MASKING POLICY {direct} AS (val STRING) RETURNS STRING -> 'direct'")
    sandbox.sql(f"ALTER TABLE {s.table} MODIFY COLUMN NAME SET MASKING POLICY {direct}")
    assert query(s.reader_conn, text)[0] == (-1, "***MASKED***", "direct")
    # A tag holds one policy per data type.
    assert errno_of(sandbox.admin, f"ALTER TAG {tag} SET MASKING POLICY {direct}") > 0
    sandbox.sql(f"ALTER TAG {tag} UNSET MASKING POLICY {s.policy}, MASKING POLICY {number_policy}")
    assert query(s.reader_conn, text)[0] == (1, "a@x.com", "direct")


def test_secure_view_over_a_masked_table(sandbox: Sandbox) -> None:
    s = _setup(sandbox)
    view = f"{s.db}.PUBLIC.CUSTOMER_EMAILS"
    viewer = sandbox.name("VIEWER")
    sandbox.sql(f"ALTER TABLE {s.table} MODIFY COLUMN EMAIL SET MASKING POLICY {s.policy}")
    sandbox.sql(f"GRANT CREATE VIEW ON SCHEMA {s.db}.PUBLIC TO ROLE {s.clear}")
    # The clear role owns the view; the viewer may read the view only, not the table.
    # Unqualified names in a view's definition resolve in the view's schema, whoever reads it.
    query(s.clear_conn, f"USE SCHEMA {s.db}.PUBLIC")
    query(s.clear_conn, f"CREATE SECURE VIEW {view} AS SELECT ID, EMAIL FROM CUSTOMERS")
    sandbox.sql(f"CREATE ROLE {viewer}")
    sandbox.sql(f"GRANT USAGE ON DATABASE {s.db} TO ROLE {viewer}")
    sandbox.sql(f"GRANT USAGE ON SCHEMA {s.db}.PUBLIC TO ROLE {viewer}")
    query(s.clear_conn, f"GRANT SELECT ON VIEW {view} TO ROLE {viewer}")
    viewer_conn = sandbox.user_with_role(viewer)
    assert errno_of(viewer_conn, f"SELECT * FROM {s.table}") == 2003
    text = f"SELECT * FROM {view} ORDER BY ID"
    # Masking is evaluated on the base column with the querying session's role.
    assert query(viewer_conn, text) == [(1, "***MASKED***"), (2, "***MASKED***")]
    assert query(s.clear_conn, text) == [(1, "a@x.com"), (2, "b@x.com")]
    assert query(viewer_conn, f"SELECT COUNT(*) FROM {view} v WHERE v.EMAIL LIKE '%@x.com'") == [(0,)]
    # A policy on the view's own column applies to its output as well.
    sandbox.sql(f"ALTER TABLE {s.table} MODIFY COLUMN EMAIL UNSET MASKING POLICY")
    assert query(viewer_conn, text) == [(1, "a@x.com"), (2, "b@x.com")]
    # The view's owner may set it with APPLY on the policy (the admin cannot even see this view).
    sandbox.sql(f"GRANT APPLY ON MASKING POLICY {s.policy} TO ROLE {s.clear}")
    query(s.clear_conn, f"ALTER VIEW {view} MODIFY COLUMN EMAIL SET MASKING POLICY {s.policy}")
    assert query(viewer_conn, text) == [(1, "***MASKED***"), (2, "***MASKED***")]
    assert query(s.clear_conn, text) == [(1, "a@x.com"), (2, "b@x.com")]


def test_ctas_and_insert_select_copy_masked_values(sandbox: Sandbox) -> None:
    s = _setup(sandbox)
    sandbox.sql(f"ALTER TABLE {s.table} MODIFY COLUMN EMAIL SET MASKING POLICY {s.policy}")
    copy = f"{s.db}.PUBLIC.COPY_OF"
    # The admin's role is not the clear role, so what it copies is masked data.
    sandbox.sql(f"CREATE TABLE {copy} AS SELECT * FROM {s.table}")
    sandbox.sql(f"INSERT INTO {copy} SELECT * FROM {s.table} WHERE ID = 1")
    assert sandbox.sql(f"SELECT DISTINCT EMAIL FROM {copy}") == [("***MASKED***",)]


@pytest.mark.parametrize("kind", ["TABLE", "VIEW"])
def test_unknown_relation_is_reported(sandbox: Sandbox, kind: str) -> None:
    s = _setup(sandbox)
    text = f"ALTER {kind} {s.db}.PUBLIC.NOPE MODIFY COLUMN X SET MASKING POLICY {s.policy}"
    assert errno_of(sandbox.admin, text) == 2003
