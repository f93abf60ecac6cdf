"""Secure shares on snowlocal, the provider's side, as Snowflake documents them (see cmd_shares)."""

from __future__ import annotations

import pytest

from tests.integration.snowlocal.conftest import Sandbox, errno_of, query

pytestmark = pytest.mark.integration

INSUFFICIENT_PRIVILEGES = 3001
DOES_NOT_EXIST = 2003


@pytest.fixture
def shared(sandbox: Sandbox) -> tuple[Sandbox, str, str]:
    """A database with a secure view and a plain one, and an empty share; all owned by ACCOUNTADMIN."""
    db, share = sandbox.name("SHARED_DB"), sandbox.name("S")
    for text in (
        f"CREATE DATABASE {db}",
        f"CREATE SCHEMA {db}.DATA",
        f"CREATE TABLE {db}.DATA.T (ID INT)",
        f"CREATE SECURE VIEW {db}.DATA.SECURE_V AS SELECT ID FROM {db}.DATA.T",
        f"CREATE VIEW {db}.DATA.PLAIN_V AS SELECT ID FROM {db}.DATA.T",
        f"CREATE SHARE {share} COMMENT = 'for partners'",
    ):
        sandbox.sql(text)
    return sandbox, db, share


def test_creating_a_share_takes_create_share_and_its_creator_owns_it(sandbox: Sandbox) -> None:
    role, share = sandbox.name("SHARER"), sandbox.name("S1")
    sandbox.sql(f"CREATE ROLE {role}")
    sharer = sandbox.user_with_role(role)
    assert errno_of(sharer, f"CREATE SHARE {share}") == INSUFFICIENT_PRIVILEGES
    sandbox.sql(f"GRANT CREATE SHARE ON ACCOUNT TO ROLE {role}")
    assert query(sharer, f"CREATE SHARE {share}") == [(f"Share {share} successfully created.",)]
    assert query(sharer, f"CREATE SHARE IF NOT EXISTS {share}") == [
        (f"{share} already exists, statement succeeded.",)
    ]
    # SHOW SHARES: ACCOUNTADMIN sees every outbound share; a role without IMPORT SHARE sees none.
    (row,) = [r for r in sandbox.sql(f"SHOW SHARES LIKE '{share}'")]
    assert (row[1], row[2], row[3], row[6]) == ("OUTBOUND", "SNOWLOCAL.SNOWLOCAL", share, role)
    assert query(sharer, "SHOW SHARES") == []


def test_a_share_takes_one_database_first_then_its_objects_secure_views_only(
    shared: tuple[Sandbox, str, str],
) -> None:
    box, db, share = shared
    assert errno_of(box.admin, f"GRANT USAGE ON SCHEMA {db}.DATA TO SHARE {share}") != 0  # database first
    box.sql(f"GRANT USAGE ON DATABASE {db} TO SHARE {share}")
    box.sql(f"GRANT USAGE ON SCHEMA {db}.DATA TO SHARE {share}")
    box.sql(f"GRANT SELECT ON VIEW {db}.DATA.SECURE_V TO SHARE {share}")
    assert errno_of(box.admin, f"GRANT SELECT ON VIEW {db}.DATA.PLAIN_V TO SHARE {share}") != 0
    other = box.name("OTHER_DB")
    box.sql(f"CREATE DATABASE {other}")
    assert errno_of(box.admin, f"GRANT USAGE ON DATABASE {other} TO SHARE {share}") != 0  # one database
    with (
        box.admin.cursor() as cur,
        pytest.raises(Exception, match="Unsupported feature 'GRANT PRIVILEGES TO SHARE WITH GRANT OPTION'"),
    ):
        cur.execute(f"GRANT USAGE ON DATABASE {db} TO SHARE {share} WITH GRANT OPTION")

    columns, rows = box.sql_with_columns(f"SHOW GRANTS TO SHARE {share}")
    assert columns == [
        "created_on",
        "privilege",
        "granted_on",
        "name",
        "granted_to",
        "grantee_name",
        "grant_option",
        "granted_by",
    ]
    assert [(r[1], r[2], r[3], r[4], r[5]) for r in rows] == [
        ("USAGE", "DATABASE", db, "SHARE", f"SNOWLOCAL.SNOWLOCAL.{share}"),
        ("USAGE", "SCHEMA", f"{db}.DATA", "SHARE", f"SNOWLOCAL.SNOWLOCAL.{share}"),
        ("SELECT", "VIEW", f"{db}.DATA.SECURE_V", "SHARE", f"SNOWLOCAL.SNOWLOCAL.{share}"),
    ]
    assert box.sql(f"SHOW GRANTS OF SHARE {share}") == []  # no account has created a database from it

    box.sql(f"REVOKE SELECT ON VIEW {db}.DATA.SECURE_V FROM SHARE {share}")
    assert len(box.sql(f"SHOW GRANTS TO SHARE {share}")) == 2


def test_granting_to_a_share_takes_its_ownership_and_the_right_to_grant_each_object(
    shared: tuple[Sandbox, str, str],
) -> None:
    box, db, _ = shared
    role, share = box.name("SHARE_OWNER"), box.name("S2")
    box.sql(f"CREATE ROLE {role}")
    box.sql(f"GRANT CREATE SHARE ON ACCOUNT TO ROLE {role}")
    owner = box.user_with_role(role)
    query(owner, f"CREATE SHARE {share}")
    # USAGE without grant option: not enough to put the database in a share.
    box.sql(f"GRANT USAGE ON DATABASE {db} TO ROLE {role}")
    assert errno_of(owner, f"GRANT USAGE ON DATABASE {db} TO SHARE {share}") == INSUFFICIENT_PRIVILEGES
    box.sql(f"GRANT USAGE ON DATABASE {db} TO ROLE {role} WITH GRANT OPTION")
    query(owner, f"GRANT USAGE ON DATABASE {db} TO SHARE {share}")
    # Another role, even one holding the object's privileges, may not add to a share it does not own.
    outsider_role = box.name("OUTSIDER")
    box.sql(f"CREATE ROLE {outsider_role}")
    box.sql(f"GRANT USAGE ON DATABASE {db} TO ROLE {outsider_role} WITH GRANT OPTION")
    outsider = box.user_with_role(outsider_role)
    assert errno_of(outsider, f"GRANT USAGE ON DATABASE {db} TO SHARE {share}") == DOES_NOT_EXIST


def test_accounts_are_added_by_the_owner_with_manage_share_target_and_only_when_they_exist(
    shared: tuple[Sandbox, str, str],
) -> None:
    box, db, share = shared
    assert errno_of(box.admin, f"ALTER SHARE {share} ADD ACCOUNTS = PARTNER.ACME") != 0  # no database yet
    box.sql(f"GRANT USAGE ON DATABASE {db} TO SHARE {share}")
    box.sql(f"ALTER SHARE {share} ADD ACCOUNTS = PARTNER.ACME")
    (row,) = box.sql(f"SHOW SHARES LIKE '{share}'")
    assert row[4] == db
    assert row[5] == ""  # no such account in this snowlocal: accepted, and not kept, as Snowflake does
    box.sql(f"ALTER SHARE {share} REMOVE ACCOUNTS = PARTNER.ACME")
    box.sql(f"ALTER SHARE IF EXISTS {box.name('NO_SUCH_SHARE')} REMOVE ACCOUNTS = PARTNER.ACME")

    role = box.name("NO_TARGET")
    box.sql(f"CREATE ROLE {role}")
    box.sql(f"GRANT CREATE SHARE ON ACCOUNT TO ROLE {role}")
    sharer = box.user_with_role(role)
    own = box.name("S3")
    query(sharer, f"CREATE SHARE {own}")
    box.sql(f"GRANT USAGE ON DATABASE {db} TO ROLE {role} WITH GRANT OPTION")
    query(sharer, f"GRANT USAGE ON DATABASE {db} TO SHARE {own}")
    assert errno_of(sharer, f"ALTER SHARE {own} ADD ACCOUNTS = PARTNER.ACME") == INSUFFICIENT_PRIVILEGES
    box.sql(f"GRANT MANAGE SHARE TARGET ON ACCOUNT TO ROLE {role}")
    query(sharer, f"ALTER SHARE {own} ADD ACCOUNTS = PARTNER.ACME")


def test_only_the_owner_drops_a_share_and_its_grants_go_with_it(shared: tuple[Sandbox, str, str]) -> None:
    box, db, share = shared
    box.sql(f"GRANT USAGE ON DATABASE {db} TO SHARE {share}")
    role = box.name("NOT_OWNER")
    box.sql(f"CREATE ROLE {role}")
    assert errno_of(box.user_with_role(role), f"DROP SHARE {share}") == DOES_NOT_EXIST
    assert box.sql(f"DROP SHARE {share}") == [(f"{share} successfully dropped.",)]
    assert box.sql(f"SHOW SHARES LIKE '{share}'") == []
    box.sql(f"CREATE SHARE {share}")  # a new share of the same name starts empty
    assert box.sql(f"SHOW GRANTS TO SHARE {share}") == []
