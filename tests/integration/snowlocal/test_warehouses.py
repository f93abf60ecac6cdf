"""Warehouses through the real connector: DDL, SHOW WAREHOUSES, USE, USAGE, auto-resume, 000606."""

from __future__ import annotations

from tests.integration.snowlocal.conftest import Sandbox, errno_of, query

SHOW_COLUMNS = [
    "name",
    "state",
    "type",
    "size",
    "min_cluster_count",
    "max_cluster_count",
    "started_clusters",
    "running",
    "queued",
    "is_default",
    "is_current",
    "auto_suspend",
    "auto_resume",
    "available",
    "provisioning",
    "quiescing",
    "other",
    "created_on",
    "resumed_on",
    "updated_on",
    "owner",
    "comment",
]


def show(sandbox: Sandbox, name: str) -> dict[str, object]:
    with sandbox.admin.cursor() as cur:
        cur.execute(f"SHOW WAREHOUSES LIKE '{name}'")
        rows = cur.fetchall()
        assert len(rows) == 1, rows
        return {d.name: v for d, v in zip(cur.description, rows[0], strict=True)}


def table_with_row(sandbox: Sandbox) -> str:
    db = sandbox.name("WDB")
    sandbox.sql(f"CREATE DATABASE {db}")
    sandbox.sql(f"CREATE TABLE {db}.PUBLIC.T (A INT)")
    sandbox.sql(f"USE WAREHOUSE {sandbox.warehouse}")
    sandbox.sql(f"INSERT INTO {db}.PUBLIC.T VALUES (1)")
    return f"{db}.PUBLIC.T"


def test_create_shows_documented_columns_and_becomes_current(sandbox: Sandbox) -> None:
    wh = sandbox.name("W")
    sandbox.sql(
        f"CREATE WAREHOUSE {wh} WITH WAREHOUSE_SIZE = 'X-Small' AUTO_SUSPEND = 120 AUTO_RESUME = TRUE "
        "INITIALLY_SUSPENDED = TRUE COMMENT = 'for tests'"
    )
    assert query(sandbox.admin, "SELECT CURRENT_WAREHOUSE()") == [(wh,)]
    names, _ = sandbox.sql_with_columns(f"SHOW WAREHOUSES LIKE '{wh}'")
    assert names[: len(SHOW_COLUMNS)] == SHOW_COLUMNS
    row = show(sandbox, wh)
    assert row["state"] == "SUSPENDED"
    assert row["size"] == "X-Small"
    assert row["auto_suspend"] == 120
    assert row["auto_resume"] == "true"
    assert row["is_current"] == "Y"
    assert row["owner"] == "ACCOUNTADMIN"
    assert row["comment"] == "for tests"
    assert row["resumed_on"] is None


def test_size_spellings_are_normalised(sandbox: Sandbox) -> None:
    for spelling, shown in (("XSMALL", "X-Small"), ("X-LARGE", "X-Large"), ("'2X-Large'", "2X-Large")):
        wh = sandbox.name(f"S{shown[:2].replace('-', '')}")
        sandbox.sql(f"CREATE OR REPLACE WAREHOUSE {wh} WAREHOUSE_SIZE = {spelling}")
        assert show(sandbox, wh)["size"] == shown
    assert errno_of(sandbox.admin, f"CREATE WAREHOUSE {sandbox.name('BAD')} WAREHOUSE_SIZE = HUGE") == 2029


def test_create_existing_and_if_not_exists(sandbox: Sandbox) -> None:
    assert errno_of(sandbox.admin, f"CREATE WAREHOUSE {sandbox.warehouse}") == 2002
    assert "already exists" in sandbox.sql(f"CREATE WAREHOUSE IF NOT EXISTS {sandbox.warehouse}")[0][0]


def test_unmodelled_options_are_refused(sandbox: Sandbox) -> None:
    wh = sandbox.name("RM")
    assert errno_of(sandbox.admin, f"CREATE WAREHOUSE {wh} RESOURCE_MONITOR = M") == 2
    timeout = f"ALTER WAREHOUSE {sandbox.warehouse} SET STATEMENT_TIMEOUT_IN_SECONDS = 5"
    assert errno_of(sandbox.admin, timeout) == 2


def test_query_without_warehouse_fails_000606(sandbox: Sandbox) -> None:
    table = table_with_row(sandbox)
    conn = sandbox.connect("ADMIN", "admin")
    assert query(conn, "SELECT CURRENT_WAREHOUSE()") == [(None,)]
    assert query(conn, "SELECT 1") == [(1,)]  # no table data: no warehouse needed
    assert errno_of(conn, f"SELECT * FROM {table}") == 606
    assert errno_of(conn, f"INSERT INTO {table} VALUES (2)") == 606
    query(conn, f"USE WAREHOUSE {sandbox.warehouse}")
    assert query(conn, f"SELECT * FROM {table}") == [(1,)]


def test_usage_on_the_warehouse_is_needed(sandbox: Sandbox) -> None:
    table = table_with_row(sandbox)
    role = sandbox.name("R_WH")
    sandbox.sql(f"CREATE ROLE {role}")
    db = table.split(".")[0]
    sandbox.sql(f"GRANT USAGE ON DATABASE {db} TO ROLE {role}")
    sandbox.sql(f"GRANT USAGE ON SCHEMA {db}.PUBLIC TO ROLE {role}")
    sandbox.sql(f"GRANT SELECT ON TABLE {table} TO ROLE {role}")
    conn = sandbox.user_with_role(role, warehouse=False)
    # Login's warehouse= is skipped when the role may not use it.
    assert query(conn, "SELECT CURRENT_WAREHOUSE()") == [(None,)]
    assert errno_of(conn, f"USE WAREHOUSE {sandbox.warehouse}") == 2043
    assert errno_of(conn, f"SELECT * FROM {table}") == 606
    assert sandbox.warehouse not in {r[0] for r in query(conn, "SHOW WAREHOUSES")}
    sandbox.sql(f"GRANT USAGE ON WAREHOUSE {sandbox.warehouse} TO ROLE {role}")
    query(conn, f"USE WAREHOUSE {sandbox.warehouse}")
    assert query(conn, f"SELECT * FROM {table}") == [(1,)]
    assert sandbox.warehouse in {r[0] for r in query(conn, "SHOW WAREHOUSES")}
    # Losing USAGE later fails the next query.
    sandbox.sql(f"REVOKE USAGE ON WAREHOUSE {sandbox.warehouse} FROM ROLE {role}")
    assert errno_of(conn, f"SELECT * FROM {table}") == 606
    # Only OPERATE lets a role suspend and resume; only MODIFY lets it change settings.
    assert errno_of(conn, f"ALTER WAREHOUSE {sandbox.warehouse} SUSPEND") in (2003, 3001)
    sandbox.sql(f"GRANT USAGE ON WAREHOUSE {sandbox.warehouse} TO ROLE {role}")
    assert errno_of(conn, f"ALTER WAREHOUSE {sandbox.warehouse} SUSPEND") == 3001
    assert errno_of(conn, f"ALTER WAREHOUSE {sandbox.warehouse} SET AUTO_SUSPEND = 300") == 3001
    assert errno_of(conn, f"DROP WAREHOUSE {sandbox.warehouse}") == 3001
    sandbox.sql(f"GRANT OPERATE ON WAREHOUSE {sandbox.warehouse} TO ROLE {role}")
    query(conn, f"ALTER WAREHOUSE {sandbox.warehouse} SUSPEND")
    query(conn, f"ALTER WAREHOUSE {sandbox.warehouse} RESUME")


def test_auto_resume(sandbox: Sandbox) -> None:
    table = table_with_row(sandbox)
    sandbox.sql(f"ALTER WAREHOUSE {sandbox.warehouse} SUSPEND")
    assert show(sandbox, sandbox.warehouse)["state"] == "SUSPENDED"
    assert sandbox.sql(f"SELECT * FROM {table}") == [(1,)]
    row = show(sandbox, sandbox.warehouse)
    assert row["state"] == "STARTED"
    assert row["resumed_on"] is not None


def test_no_auto_resume_fails_while_suspended(sandbox: Sandbox) -> None:
    table = table_with_row(sandbox)
    sandbox.sql(f"ALTER WAREHOUSE {sandbox.warehouse} SET AUTO_RESUME = FALSE")
    sandbox.sql(f"ALTER WAREHOUSE {sandbox.warehouse} SUSPEND")
    assert errno_of(sandbox.admin, f"SELECT * FROM {table}") == 606
    assert show(sandbox, sandbox.warehouse)["state"] == "SUSPENDED"
    sandbox.sql(f"ALTER WAREHOUSE {sandbox.warehouse} RESUME")
    assert sandbox.sql(f"SELECT * FROM {table}") == [(1,)]


def test_suspend_and_resume_errors(sandbox: Sandbox) -> None:
    wh = sandbox.warehouse
    assert errno_of(sandbox.admin, f"ALTER WAREHOUSE {wh} RESUME") == 90064
    sandbox.sql(f"ALTER WAREHOUSE {wh} RESUME IF SUSPENDED")
    sandbox.sql(f"ALTER WAREHOUSE {wh} SUSPEND")
    assert errno_of(sandbox.admin, f"ALTER WAREHOUSE {wh} SUSPEND") == 90064
    sandbox.sql(f"ALTER WAREHOUSE {wh} RESUME IF SUSPENDED")
    assert show(sandbox, wh)["state"] == "STARTED"


def test_alter_set_unset(sandbox: Sandbox) -> None:
    wh = sandbox.warehouse
    sandbox.sql(f"ALTER WAREHOUSE {wh} SET WAREHOUSE_SIZE = MEDIUM, AUTO_SUSPEND = 300 COMMENT = 'c'")
    row = show(sandbox, wh)
    assert (row["size"], row["auto_suspend"], row["comment"]) == ("Medium", 300, "c")
    sandbox.sql(f"ALTER WAREHOUSE {wh} UNSET COMMENT, AUTO_SUSPEND")
    row = show(sandbox, wh)
    assert (row["auto_suspend"], row["comment"]) == (600, "")
    assert "successfully" in sandbox.sql(f"ALTER WAREHOUSE IF EXISTS {sandbox.name('NOPE')} SUSPEND")[0][0]


def test_drop_current_leaves_none_and_login_warehouse(sandbox: Sandbox) -> None:
    wh = sandbox.name("DROPME")
    sandbox.sql(f"CREATE WAREHOUSE {wh}")
    other = sandbox.connect("ADMIN", "admin", warehouse=wh)
    assert query(other, "SELECT CURRENT_WAREHOUSE()") == [(wh,)]
    sandbox.sql(f"DROP WAREHOUSE {wh}")
    assert query(sandbox.admin, "SELECT CURRENT_WAREHOUSE()") == [(None,)]
    assert query(other, "SELECT CURRENT_WAREHOUSE()") == [(None,)]
    assert errno_of(sandbox.admin, f"DROP WAREHOUSE {wh}") == 2003
    assert "does not exist" in sandbox.sql(f"DROP WAREHOUSE IF EXISTS {wh}")[0][0]
