"""Users, roles, ownership, privileges and SHOW GRANTS, as Snowflake's access control defines them."""

from __future__ import annotations

import pytest
import snowflake.connector

from tests.integration.snowlocal.conftest import Sandbox, errno_of, query

GRANT_COLUMNS = [
    "created_on",
    "privilege",
    "granted_on",
    "name",
    "granted_to",
    "grantee_name",
    "grant_option",
    "granted_by",
]


def test_system_role_hierarchy(sandbox: Sandbox) -> None:
    of_sysadmin = {(r[2], r[3]) for r in sandbox.sql("SHOW GRANTS OF ROLE SYSADMIN")}
    assert ("ROLE", "ACCOUNTADMIN") in of_sysadmin
    assert ("ROLE", "SECURITYADMIN") in {(r[2], r[3]) for r in sandbox.sql("SHOW GRANTS OF ROLE USERADMIN")}
    assert ("ROLE", "ACCOUNTADMIN") in {
        (r[2], r[3]) for r in sandbox.sql("SHOW GRANTS OF ROLE SECURITYADMIN")
    }
    # ACCOUNTADMIN inherits everything below it, USERADMIN nothing above it.
    assert query(sandbox.admin, "SELECT IS_ROLE_IN_SESSION('USERADMIN'), IS_ROLE_IN_SESSION('PUBLIC')") == [
        (True, True)
    ]
    sandbox.sql("USE ROLE USERADMIN")
    assert query(sandbox.admin, "SELECT IS_ROLE_IN_SESSION('SYSADMIN'), CURRENT_ROLE()") == [
        (False, "USERADMIN")
    ]


def test_create_role_and_user_and_use_role(sandbox: Sandbox) -> None:
    role, other = sandbox.name("ANALYST"), sandbox.name("OTHER")
    assert sandbox.sql(f"CREATE ROLE {role} COMMENT = 'reads things'") == [
        (f"Role {role} successfully created.",)
    ]
    sandbox.sql(f"CREATE ROLE IF NOT EXISTS {role}")
    sandbox.sql(f"CREATE ROLE {other}")
    assert errno_of(sandbox.admin, f"CREATE ROLE {role}") == 2002
    conn = sandbox.user_with_role(role)
    assert query(conn, "SELECT CURRENT_ROLE()") == [(role,)]
    assert errno_of(conn, f"USE ROLE {other}") == 3013
    query(conn, "USE ROLE PUBLIC")
    assert query(conn, "SELECT CURRENT_ROLE()") == [("PUBLIC",)]
    shown = {r[1]: r for r in sandbox.sql(f"SHOW ROLES LIKE '{role}'")}
    assert shown[role][-1] == "reads things"
    assert shown[role][-2] == "ACCOUNTADMIN"
    assert sandbox.sql_with_columns("SHOW ROLES")[0][:4] == ["created_on", "name", "is_default", "is_current"]
    users = {r[0]: r for r in sandbox.sql("SHOW USERS")}
    assert any(name.startswith(f"U_{role}") for name in users)
    sandbox.sql(f"DROP ROLE {other}")
    assert sandbox.sql(f"SHOW ROLES LIKE '{other}'") == []


def test_login_with_a_role_not_granted_is_refused(sandbox: Sandbox) -> None:
    role = sandbox.name("R")
    sandbox.sql(f"CREATE ROLE {role}")
    user = sandbox.name("LONELY")
    sandbox.sql(f"CREATE USER {user} PASSWORD = 'pw'")
    with pytest.raises(snowflake.connector.errors.Error) as failure:
        sandbox.connect(user, "pw", role=role)
    assert failure.value.errno == 3013


def test_role_grants_and_cycles(sandbox: Sandbox) -> None:
    parent, child = sandbox.name("PARENT"), sandbox.name("CHILD")
    sandbox.sql(f"CREATE ROLE {parent}")
    sandbox.sql(f"CREATE ROLE {child}")
    sandbox.sql(f"GRANT ROLE {child} TO ROLE {parent}")
    assert (child, "ROLE", parent) in {
        (r[1], r[2], r[3]) for r in sandbox.sql(f"SHOW GRANTS OF ROLE {child}")
    }
    assert ("USAGE", "ROLE", child) in {
        (r[1], r[2], r[3]) for r in sandbox.sql(f"SHOW GRANTS TO ROLE {parent}")
    }
    assert errno_of(sandbox.admin, f"GRANT ROLE {parent} TO ROLE {child}") == 3221
    sandbox.sql(f"REVOKE ROLE {child} FROM ROLE {parent}")
    assert sandbox.sql(f"SHOW GRANTS OF ROLE {child}") == []


def test_ownership_and_show_grants(sandbox: Sandbox) -> None:
    db, role = sandbox.name("DB"), sandbox.name("R")
    sandbox.sql("USE ROLE SYSADMIN")
    sandbox.sql(f"CREATE DATABASE {db}")
    on_db = sandbox.sql(f"SHOW GRANTS ON DATABASE {db}")
    assert [(r[1], r[2], r[3], r[4], r[5]) for r in on_db] == [
        ("OWNERSHIP", "DATABASE", db, "ROLE", "SYSADMIN")
    ]
    assert sandbox.sql_with_columns(f"SHOW GRANTS ON DATABASE {db}")[0] == GRANT_COLUMNS
    sandbox.sql("USE ROLE ACCOUNTADMIN")
    sandbox.sql(f"CREATE ROLE {role}")
    sandbox.sql(f"GRANT USAGE, MONITOR ON DATABASE {db} TO ROLE {role} WITH GRANT OPTION")
    to_role = {(r[1], r[2], r[3], r[6]) for r in sandbox.sql(f"SHOW GRANTS TO ROLE {role}")}
    assert to_role == {("USAGE", "DATABASE", db, "true"), ("MONITOR", "DATABASE", db, "true")}
    sandbox.sql(f"REVOKE MONITOR ON DATABASE {db} FROM ROLE {role}")
    assert {r[1] for r in sandbox.sql(f"SHOW GRANTS TO ROLE {role}")} == {"USAGE"}


def test_grant_ownership_copy_and_revoke_current_grants(sandbox: Sandbox) -> None:
    db, reader, owner = sandbox.name("DB"), sandbox.name("READER"), sandbox.name("OWNER")
    for role in (reader, owner):
        sandbox.sql(f"CREATE ROLE {role}")
    sandbox.sql(f"CREATE DATABASE {db}")
    sandbox.sql(f"CREATE TABLE {db}.PUBLIC.T (A INT)")
    sandbox.sql(f"GRANT SELECT ON TABLE {db}.PUBLIC.T TO ROLE {reader}")
    # Outbound grants exist: a transfer must say what becomes of them.
    assert errno_of(sandbox.admin, f"GRANT OWNERSHIP ON TABLE {db}.PUBLIC.T TO ROLE {owner}") == 3129
    sandbox.sql(f"GRANT OWNERSHIP ON TABLE {db}.PUBLIC.T TO ROLE {owner} COPY CURRENT GRANTS")
    grants = {(r[1], r[5]) for r in sandbox.sql(f"SHOW GRANTS ON TABLE {db}.PUBLIC.T")}
    assert grants == {("OWNERSHIP", owner), ("SELECT", reader)}
    sandbox.sql(f"GRANT OWNERSHIP ON TABLE {db}.PUBLIC.T TO ROLE ACCOUNTADMIN REVOKE CURRENT GRANTS")
    assert {(r[1], r[5]) for r in sandbox.sql(f"SHOW GRANTS ON TABLE {db}.PUBLIC.T")} == {
        ("OWNERSHIP", "ACCOUNTADMIN")
    }


def test_ddl_without_privilege_is_003001(sandbox: Sandbox) -> None:
    role = sandbox.name("NOBODY")
    sandbox.sql(f"CREATE ROLE {role}")
    conn = sandbox.user_with_role(role)
    for statement in (
        f"CREATE DATABASE {sandbox.name('X')}",
        f"CREATE ROLE {sandbox.name('Y')}",
        f"CREATE WAREHOUSE {sandbox.name('Z')}",
        f"CREATE USER {sandbox.name('W')}",
    ):
        assert errno_of(conn, statement) == 3001, statement
    db = sandbox.name("DB")
    sandbox.sql(f"CREATE DATABASE {db}")
    sandbox.sql(f"GRANT USAGE ON DATABASE {db} TO ROLE {role}")
    sandbox.sql(f"GRANT USAGE ON SCHEMA {db}.PUBLIC TO ROLE {role}")
    assert errno_of(conn, f"CREATE TABLE {db}.PUBLIC.T (A INT)") == 3001
    assert errno_of(conn, f"CREATE VIEW {db}.PUBLIC.V AS SELECT 1 AS A") == 3001
    assert errno_of(conn, f"CREATE SCHEMA {db}.S2") == 3001
    sandbox.sql(f"GRANT CREATE TABLE ON SCHEMA {db}.PUBLIC TO ROLE {role}")
    query(conn, f"CREATE TABLE {db}.PUBLIC.T (A INT)")
    assert (("OWNERSHIP", role)) in {(r[1], r[5]) for r in sandbox.sql(f"SHOW GRANTS ON TABLE {db}.PUBLIC.T")}
    # Its owner may drop it; nobody else below ACCOUNTADMIN's reach may.
    query(conn, f"DROP TABLE {db}.PUBLIC.T")


def test_managed_access_schema(sandbox: Sandbox) -> None:
    db, creator, reader = sandbox.name("DB"), sandbox.name("CREATOR"), sandbox.name("READER")
    for role in (creator, reader):
        sandbox.sql(f"CREATE ROLE {role}")
    sandbox.sql(f"CREATE DATABASE {db}")
    sandbox.sql(f"CREATE SCHEMA {db}.M WITH MANAGED ACCESS")
    assert sandbox.sql(f"SHOW SCHEMAS LIKE 'M' IN DATABASE {db}")[0][7] == "MANAGED ACCESS"
    for grant in (f"USAGE ON DATABASE {db}", f"USAGE ON SCHEMA {db}.M", f"CREATE TABLE ON SCHEMA {db}.M"):
        sandbox.sql(f"GRANT {grant} TO ROLE {creator}")
    conn = sandbox.user_with_role(creator)
    query(conn, f"CREATE TABLE {db}.M.T (A INT)")
    # In a managed-access schema the table's owner cannot grant on it; the schema's owner can.
    assert errno_of(conn, f"GRANT SELECT ON TABLE {db}.M.T TO ROLE {reader}") == 3001
    sandbox.sql(f"GRANT SELECT ON TABLE {db}.M.T TO ROLE {reader}")
    assert ("SELECT", reader) in {(r[1], r[5]) for r in sandbox.sql(f"SHOW GRANTS ON TABLE {db}.M.T")}


def test_future_grants_are_shown_and_applied(sandbox: Sandbox) -> None:
    db, role = sandbox.name("DB"), sandbox.name("R")
    sandbox.sql(f"CREATE ROLE {role}")
    sandbox.sql(f"CREATE DATABASE {db}")
    sandbox.sql(f"GRANT SELECT ON FUTURE TABLES IN SCHEMA {db}.PUBLIC TO ROLE {role}")
    sandbox.sql(f"GRANT SELECT ON FUTURE VIEWS IN SCHEMA {db}.PUBLIC TO ROLE {role}")
    future = sandbox.sql(f"SHOW FUTURE GRANTS IN SCHEMA {db}.PUBLIC")
    assert {(r[1], r[2], r[3], r[5]) for r in future} == {
        ("SELECT", "TABLE", f"{db}.PUBLIC.<TABLE>", role),
        ("SELECT", "VIEW", f"{db}.PUBLIC.<VIEW>", role),
    }
    sandbox.sql(f"CREATE TABLE {db}.PUBLIC.LATER (A INT)")
    assert ("SELECT", role) in {(r[1], r[5]) for r in sandbox.sql(f"SHOW GRANTS ON TABLE {db}.PUBLIC.LATER")}
    sandbox.sql(f"REVOKE SELECT ON FUTURE TABLES IN SCHEMA {db}.PUBLIC FROM ROLE {role}")
    sandbox.sql(f"CREATE TABLE {db}.PUBLIC.LATER2 (A INT)")
    assert ("SELECT", role) not in {
        (r[1], r[5]) for r in sandbox.sql(f"SHOW GRANTS ON TABLE {db}.PUBLIC.LATER2")
    }


def test_grant_on_all_tables_in_schema(sandbox: Sandbox) -> None:
    db, role = sandbox.name("DB"), sandbox.name("R")
    sandbox.sql(f"CREATE ROLE {role}")
    sandbox.sql(f"CREATE DATABASE {db}")
    for table in ("A", "B"):
        sandbox.sql(f"CREATE TABLE {db}.PUBLIC.{table} (X INT)")
    sandbox.sql(f"GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA {db}.PUBLIC TO ROLE {role}")
    granted = {(r[1], r[3]) for r in sandbox.sql(f"SHOW GRANTS TO ROLE {role}")}
    assert granted == {(p, f"{db}.PUBLIC.{t}") for p in ("SELECT", "INSERT") for t in ("A", "B")}


def test_show_grants_to_user(sandbox: Sandbox) -> None:
    rows = sandbox.sql("SHOW GRANTS TO USER ADMIN")
    assert ("USAGE", "ROLE", "ACCOUNTADMIN") in {(r[1], r[2], r[3]) for r in rows}


def test_ownership_in_a_managed_access_schema_goes_only_below_the_schema_owner(sandbox: Sandbox) -> None:
    # https://docs.snowflake.com/en/sql-reference/sql/grant-privilege , usage notes: "In managed
    # access schemas: The OWNERSHIP privilege on objects can only be transferred to a subordinate
    # role of the schema owner."
    db = sandbox.name("MDB")
    owner, below, outside = sandbox.name("M_OWNER"), sandbox.name("M_BELOW"), sandbox.name("M_OUTSIDE")
    for text in (
        f"CREATE DATABASE {db}",
        f"CREATE SCHEMA {db}.S WITH MANAGED ACCESS",
        f"CREATE TABLE {db}.S.T (X INT)",
        f"CREATE ROLE {owner}",
        f"CREATE ROLE {below}",
        f"CREATE ROLE {outside}",
        f"GRANT ROLE {below} TO ROLE {owner}",
        f"GRANT OWNERSHIP ON SCHEMA {db}.S TO ROLE {owner} COPY CURRENT GRANTS",
    ):
        sandbox.sql(text)
    assert (
        errno_of(sandbox.admin, f"GRANT OWNERSHIP ON TABLE {db}.S.T TO ROLE {outside} COPY CURRENT GRANTS")
        == 3001
    )
    sandbox.sql(f"GRANT OWNERSHIP ON TABLE {db}.S.T TO ROLE {below} COPY CURRENT GRANTS")
    # The schema owner itself: the documentation does not say; snowlocal takes it as allowed.
    sandbox.sql(f"GRANT OWNERSHIP ON TABLE {db}.S.T TO ROLE {owner} COPY CURRENT GRANTS")
