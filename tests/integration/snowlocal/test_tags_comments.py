"""Tags and comments through the real connector: DDL, assignment at every level, lineage,
SYSTEM$GET_TAG, TAG_REFERENCES, privileges, and comments in SHOW and INFORMATION_SCHEMA."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.integration.snowlocal.conftest import Sandbox, errno_of, query


@dataclass
class Tagged:
    db: str
    table: str  # DB.S.T with columns A, B
    pii: str  # DB.S.PII, allowed values 'email', 'phone'
    domain: str  # DB.S.DOMAIN, any value


@pytest.fixture
def tagged(sandbox: Sandbox) -> Tagged:
    db = sandbox.name("TGDB")
    sandbox.sql(f"CREATE DATABASE {db}")
    sandbox.sql(f"CREATE SCHEMA {db}.S")
    sandbox.sql(f"CREATE TABLE {db}.S.T (A INT, B VARCHAR)")
    sandbox.sql(f"CREATE TAG {db}.S.PII ALLOWED_VALUES 'email', 'phone' COMMENT = 'personal data'")
    sandbox.sql(f"CREATE TAG {db}.S.DOMAIN")
    return Tagged(db, f"{db}.S.T", f"{db}.S.PII", f"{db}.S.DOMAIN")


def get_tag(sandbox: Sandbox, tag: str, obj: str, domain: str) -> object:
    return sandbox.sql(f"SELECT SYSTEM$GET_TAG('{tag}', '{obj}', '{domain}')")[0][0]


def test_show_tags(sandbox: Sandbox, tagged: Tagged) -> None:
    names, rows = sandbox.sql_with_columns(f"SHOW TAGS LIKE 'PII' IN SCHEMA {tagged.db}.S")
    assert names == [
        "created_on",
        "name",
        "database_name",
        "schema_name",
        "owner",
        "comment",
        "allowed_values",
        "owner_role_type",
    ]
    assert [r[1:7] for r in rows] == [
        ("PII", tagged.db, "S", "ACCOUNTADMIN", "personal data", '["email", "phone"]')
    ]
    assert {r[1] for r in sandbox.sql(f"SHOW TAGS IN DATABASE {tagged.db}")} == {"PII", "DOMAIN"}


def test_create_existing_tag_and_if_not_exists(sandbox: Sandbox, tagged: Tagged) -> None:
    assert errno_of(sandbox.admin, f"CREATE TAG {tagged.pii}") == 2002
    assert "already exists" in sandbox.sql(f"CREATE TAG IF NOT EXISTS {tagged.pii}")[0][0]
    sandbox.sql(f"CREATE OR REPLACE TAG {tagged.pii}")
    assert sandbox.sql(f"SHOW TAGS LIKE 'PII' IN SCHEMA {tagged.db}.S")[0][6] is None


def test_tags_at_every_level(sandbox: Sandbox, tagged: Tagged) -> None:
    wh = sandbox.warehouse
    sandbox.sql(f"ALTER DATABASE {tagged.db} SET TAG {tagged.domain} = 'db'")
    sandbox.sql(f"ALTER SCHEMA {tagged.db}.S SET TAG {tagged.domain} = 'schema'")
    sandbox.sql(f"ALTER TABLE {tagged.table} SET TAG {tagged.domain} = 'table', {tagged.pii} = 'phone'")
    sandbox.sql(f"ALTER WAREHOUSE {wh} SET TAG {tagged.domain} = 'wh'")
    sandbox.sql(f"ALTER TABLE {tagged.table} MODIFY COLUMN B SET TAG {tagged.pii} = 'email'")
    assert get_tag(sandbox, tagged.domain, tagged.db, "database") == "db"
    assert get_tag(sandbox, tagged.domain, f"{tagged.db}.S", "schema") == "schema"
    assert get_tag(sandbox, tagged.domain, tagged.table, "table") == "table"
    assert get_tag(sandbox, tagged.domain, wh, "warehouse") == "wh"
    assert get_tag(sandbox, tagged.pii, f"{tagged.table}.B", "column") == "email"
    # Unset at each level.
    sandbox.sql(f"ALTER TABLE {tagged.table} ALTER COLUMN B UNSET TAG {tagged.pii}")
    sandbox.sql(f"ALTER TABLE {tagged.table} UNSET TAG {tagged.pii}, {tagged.domain}")
    sandbox.sql(f"ALTER SCHEMA {tagged.db}.S UNSET TAG {tagged.domain}")
    sandbox.sql(f"ALTER WAREHOUSE {wh} UNSET TAG {tagged.domain}")
    assert get_tag(sandbox, tagged.pii, f"{tagged.table}.B", "column") is None
    assert get_tag(sandbox, tagged.domain, wh, "warehouse") is None
    # The table now inherits from the database only.
    assert get_tag(sandbox, tagged.domain, tagged.table, "table") == "db"


def test_column_inherits_table_schema_database(sandbox: Sandbox, tagged: Tagged) -> None:
    column = f"{tagged.table}.A"
    assert get_tag(sandbox, tagged.domain, column, "column") is None
    sandbox.sql(f"ALTER DATABASE {tagged.db} SET TAG {tagged.domain} = 'from-db'")
    assert get_tag(sandbox, tagged.domain, column, "column") == "from-db"
    sandbox.sql(f"ALTER SCHEMA {tagged.db}.S SET TAG {tagged.domain} = 'from-schema'")
    assert get_tag(sandbox, tagged.domain, column, "column") == "from-schema"
    sandbox.sql(f"ALTER TABLE {tagged.table} SET TAG {tagged.domain} = 'from-table'")
    assert get_tag(sandbox, tagged.domain, column, "column") == "from-table"
    sandbox.sql(f"ALTER TABLE {tagged.table} MODIFY COLUMN A SET TAG {tagged.domain} = 'own'")
    assert get_tag(sandbox, tagged.domain, column, "column") == "own"


def test_tag_references(sandbox: Sandbox, tagged: Tagged) -> None:
    sandbox.sql(f"ALTER TABLE {tagged.table} SET TAG {tagged.domain} = 'sales'")
    sandbox.sql(f"ALTER TABLE {tagged.table} MODIFY COLUMN B SET TAG {tagged.pii} = 'email'")
    names, rows = sandbox.sql_with_columns(
        f"SELECT * FROM TABLE({tagged.db}.INFORMATION_SCHEMA."
        f"TAG_REFERENCES('{tagged.table}.B', 'column')) ORDER BY TAG_NAME"
    )
    assert names == [
        "TAG_DATABASE",
        "TAG_SCHEMA",
        "TAG_NAME",
        "TAG_VALUE",
        "LEVEL",
        "OBJECT_DATABASE",
        "OBJECT_SCHEMA",
        "OBJECT_NAME",
        "DOMAIN",
        "COLUMN_NAME",
    ]
    assert rows == [
        (tagged.db, "S", "DOMAIN", "sales", "TABLE", tagged.db, "S", "T", "COLUMN", "B"),
        (tagged.db, "S", "PII", "email", "COLUMN", tagged.db, "S", "T", "COLUMN", "B"),
    ]
    all_columns = sandbox.sql(
        "SELECT COLUMN_NAME, TAG_NAME, TAG_VALUE FROM "
        f"TABLE({tagged.db}.INFORMATION_SCHEMA.TAG_REFERENCES_ALL_COLUMNS('{tagged.table}', 'table')) "
        "ORDER BY 1, 2"
    )
    assert all_columns == [("A", "DOMAIN", "sales"), ("B", "DOMAIN", "sales"), ("B", "PII", "email")]
    info = f"{tagged.db}.INFORMATION_SCHEMA"
    none = f"SELECT COUNT(*) FROM TABLE({info}.TAG_REFERENCES('{tagged.db}', 'database'))"
    assert sandbox.sql(none) == [(0,)]


def test_allowed_values(sandbox: Sandbox, tagged: Tagged) -> None:
    assert errno_of(sandbox.admin, f"ALTER TABLE {tagged.table} SET TAG {tagged.pii} = 'ssn'") == 2029
    sandbox.sql(f"ALTER TAG {tagged.pii} ADD ALLOWED_VALUES 'ssn'")
    sandbox.sql(f"ALTER TABLE {tagged.table} SET TAG {tagged.pii} = 'ssn'")
    sandbox.sql(f"ALTER TAG {tagged.pii} DROP ALLOWED_VALUES 'phone'")
    assert errno_of(sandbox.admin, f"ALTER TABLE {tagged.table} SET TAG {tagged.pii} = 'phone'") == 2029
    assert sandbox.sql(f"SHOW TAGS LIKE 'PII' IN SCHEMA {tagged.db}.S")[0][6] == '["email", "ssn"]'
    sandbox.sql(f"ALTER TAG {tagged.pii} UNSET ALLOWED_VALUES")
    sandbox.sql(f"ALTER TABLE {tagged.table} SET TAG {tagged.pii} = 'anything'")


def test_drop_tag_removes_assignments(sandbox: Sandbox, tagged: Tagged) -> None:
    sandbox.sql(f"ALTER TABLE {tagged.table} SET TAG {tagged.domain} = 'x'")
    sandbox.sql(f"DROP TAG {tagged.domain}")
    assert (
        errno_of(sandbox.admin, f"SELECT SYSTEM$GET_TAG('{tagged.domain}', '{tagged.table}', 'table')")
        == 2003
    )
    sandbox.sql(f"CREATE TAG {tagged.domain}")
    assert get_tag(sandbox, tagged.domain, tagged.table, "table") is None
    assert "does not exist" in sandbox.sql(f"DROP TAG IF EXISTS {tagged.db}.S.NOPE")[0][0]


def test_setting_a_tag_needs_apply_and_ownership(sandbox: Sandbox, tagged: Tagged) -> None:
    role = sandbox.name("R_TAG")
    sandbox.sql(f"CREATE ROLE {role}")
    sandbox.sql(f"GRANT USAGE ON DATABASE {tagged.db} TO ROLE {role}")
    sandbox.sql(f"GRANT USAGE ON SCHEMA {tagged.db}.S TO ROLE {role}")
    sandbox.sql(f"GRANT CREATE TABLE ON SCHEMA {tagged.db}.S TO ROLE {role}")
    sandbox.sql(f"GRANT SELECT ON TABLE {tagged.table} TO ROLE {role}")
    conn = sandbox.user_with_role(role)
    own = f"{tagged.db}.S.OWN_{sandbox.suffix}"
    query(conn, f"CREATE TABLE {own} (X INT)")
    # Owns the table, no APPLY on the tag: refused.
    assert errno_of(conn, f"ALTER TABLE {own} SET TAG {tagged.domain} = 'v'") in (2003, 3001)
    sandbox.sql(f"GRANT APPLY ON TAG {tagged.domain} TO ROLE {role}")
    query(conn, f"ALTER TABLE {own} SET TAG {tagged.domain} = 'v'")
    query(conn, f"ALTER TABLE {own} MODIFY COLUMN X SET TAG {tagged.domain} = 'c'")
    # APPLY on the tag but not the table's owner: refused with 003001.
    assert errno_of(conn, f"ALTER TABLE {tagged.table} SET TAG {tagged.domain} = 'v'") == 3001
    assert errno_of(conn, f"ALTER TABLE {tagged.table} UNSET TAG {tagged.domain}") == 3001
    # Nor may it create tags without CREATE TAG on the schema.
    assert errno_of(conn, f"CREATE TAG {tagged.db}.S.MINE_{sandbox.suffix}") == 3001


def test_unsupported_tag_forms_are_refused(sandbox: Sandbox, tagged: Tagged) -> None:
    assert errno_of(sandbox.admin, f"CREATE TAG {tagged.db}.S.P2 PROPAGATE = ON_DEPENDENCY") == 2
    assert errno_of(sandbox.admin, f"SELECT SYSTEM$GET_TAG('{tagged.pii}', 'X', 'stage')") == 2


def test_comments_in_show_and_information_schema(sandbox: Sandbox, tagged: Tagged) -> None:
    db = tagged.db
    sandbox.sql(f"COMMENT ON DATABASE {db} IS 'db comment'")
    sandbox.sql(f"COMMENT ON SCHEMA {db}.S IS 'schema comment'")
    sandbox.sql(f"COMMENT ON TABLE {tagged.table} IS 'it''s a table'")
    sandbox.sql(f"COMMENT ON COLUMN {tagged.table}.A IS 'column a'")
    sandbox.sql(f"ALTER TABLE {tagged.table} ALTER COLUMN B COMMENT 'column b'")
    sandbox.sql(f"COMMENT ON WAREHOUSE {sandbox.warehouse} IS 'wh comment'")
    sandbox.sql(f"COMMENT ON TAG {tagged.domain} IS 'tag comment'")
    role = sandbox.name("R_C")
    sandbox.sql(f"CREATE ROLE {role}")
    sandbox.sql(f"COMMENT ON ROLE {role} IS 'role comment'")
    sandbox.sql(f"CREATE VIEW {db}.S.V AS SELECT A FROM {tagged.table}")
    sandbox.sql(f"ALTER VIEW {db}.S.V SET COMMENT = 'view comment'")
    assert sandbox.sql(f"SHOW DATABASES LIKE '{db}'")[0][6] == "db comment"
    assert sandbox.sql(f"SHOW SCHEMAS LIKE 'S' IN DATABASE {db}")[0][6] == "schema comment"
    assert sandbox.sql(f"SHOW TABLES LIKE 'T' IN SCHEMA {db}.S")[0][5] == "it's a table"
    assert sandbox.sql(f"SHOW VIEWS LIKE 'V' IN SCHEMA {db}.S")[0][6] == "view comment"
    assert sandbox.sql(f"SHOW WAREHOUSES LIKE '{sandbox.warehouse}'")[0][21] == "wh comment"
    assert sandbox.sql(f"SHOW TAGS LIKE 'DOMAIN' IN SCHEMA {db}.S")[0][5] == "tag comment"
    assert sandbox.sql(f"SHOW ROLES LIKE '{role}'")[0][9] == "role comment"
    assert sandbox.sql(
        f"SELECT TABLE_NAME, COMMENT FROM {db}.INFORMATION_SCHEMA.TABLES WHERE TABLE_NAME = 'T'"
    ) == [("T", "it's a table")]
    assert sandbox.sql(
        f"SELECT COLUMN_NAME, COMMENT FROM {db}.INFORMATION_SCHEMA.COLUMNS WHERE TABLE_NAME = 'T' ORDER BY 1"
    ) == [("A", "column a"), ("B", "column b")]
    # SET / UNSET COMMENT.
    sandbox.sql(f"ALTER DATABASE {db} SET COMMENT = 'again'")
    assert sandbox.sql(f"SHOW DATABASES LIKE '{db}'")[0][6] == "again"
    sandbox.sql(f"ALTER TABLE {tagged.table} UNSET COMMENT")
    sandbox.sql(f"ALTER TABLE {tagged.table} MODIFY COLUMN A UNSET COMMENT")
    assert sandbox.sql(f"SHOW TABLES LIKE 'T' IN SCHEMA {db}.S")[0][5] == ""
    assert sandbox.sql(
        f"SELECT COMMENT FROM {db}.INFORMATION_SCHEMA.COLUMNS WHERE TABLE_NAME = 'T' AND COLUMN_NAME = 'A'"
    ) == [(None,)]
    assert "successfully" in sandbox.sql(f"COMMENT IF EXISTS ON TABLE {db}.S.NOPE IS 'x'")[0][0]
    assert errno_of(sandbox.admin, f"COMMENT ON TABLE {db}.S.NOPE IS 'x'") == 2003


def test_comment_needs_ownership(sandbox: Sandbox, tagged: Tagged) -> None:
    role = sandbox.name("R_NC")
    sandbox.sql(f"CREATE ROLE {role}")
    sandbox.sql(f"GRANT USAGE ON DATABASE {tagged.db} TO ROLE {role}")
    sandbox.sql(f"GRANT USAGE ON SCHEMA {tagged.db}.S TO ROLE {role}")
    sandbox.sql(f"GRANT SELECT ON TABLE {tagged.table} TO ROLE {role}")
    conn = sandbox.user_with_role(role)
    assert errno_of(conn, f"COMMENT ON TABLE {tagged.table} IS 'mine'") == 3001
    assert errno_of(conn, f"ALTER TABLE {tagged.table} SET COMMENT = 'mine'") == 3001
    assert errno_of(conn, f"COMMENT ON COLUMN {tagged.table}.A IS 'mine'") == 3001
