"""snowlocal's SQL path and protocol: what fakesnow does, with its server-mode traps fixed."""

from __future__ import annotations

import pytest
import snowflake.connector
from snowflake.connector import DictCursor

from tests.integration.snowlocal.conftest import Sandbox, errno_of, query


def test_sql_and_data_round_trip(sandbox: Sandbox) -> None:
    db = sandbox.name("DB")
    sandbox.sql(f"CREATE DATABASE {db}")
    sandbox.sql(f"CREATE TABLE {db}.PUBLIC.T (ID INT, NAME VARCHAR)")
    sandbox.sql(f"INSERT INTO {db}.PUBLIC.T VALUES (1, 'a'), (2, 'b')")
    with sandbox.admin.cursor(DictCursor) as cur:
        cur.execute(f"SELECT ID, NAME FROM {db}.PUBLIC.T WHERE ID > %(min)s ORDER BY ID", {"min": 1})
        assert cur.fetchall() == [{"ID": 2, "NAME": "b"}]


def test_multi_statement_runs_in_order_with_one_result_each(sandbox: Sandbox) -> None:
    db = sandbox.name("DB")
    with sandbox.admin.cursor() as cur:
        cur.execute(
            f"CREATE DATABASE {db}; CREATE TABLE {db}.PUBLIC.T (A INT); "
            f"INSERT INTO {db}.PUBLIC.T VALUES (7); SELECT A FROM {db}.PUBLIC.T",
            num_statements=4,
        )
        results = [cur.fetchall()]
        while cur.nextset():
            results.append(cur.fetchall())
    assert results == [
        [(f"Database {db} successfully created.",)],
        [("Table T successfully created.",)],
        [(1,)],
        [(7,)],
    ]


def test_multi_statement_count_zero_accepts_any_number(sandbox: Sandbox) -> None:
    with sandbox.admin.cursor() as cur:
        cur.execute("SELECT 1; SELECT 2; SELECT 3", num_statements=0)
        results = [cur.fetchall()]
        while cur.nextset():
            results.append(cur.fetchall())
    assert results == [[(1,)], [(2,)], [(3,)]]


def test_statement_count_must_match(sandbox: Sandbox) -> None:
    assert errno_of(sandbox.admin, "SELECT 1; SELECT 2") == 8


def test_multi_statement_stops_at_first_error(sandbox: Sandbox) -> None:
    db = sandbox.name("DB")
    sandbox.sql(f"CREATE DATABASE {db}")
    with sandbox.admin.cursor() as cur, pytest.raises(snowflake.connector.errors.ProgrammingError) as failure:
        cur.execute(
            f"CREATE TABLE {db}.PUBLIC.A (X INT); SELECT * FROM {db}.PUBLIC.MISSING; "
            f"CREATE TABLE {db}.PUBLIC.B (X INT)",
            num_statements=3,
        )
    # https://docs.snowflake.com/en/developer-guide/sql-api/submitting-multiple-statements
    assert (failure.value.errno, failure.value.sqlstate) == (100132, "P0000")
    message = failure.value.msg or ""
    assert 'failed on statement "SELECT * FROM' in message
    assert "(at line 1, position " in message
    assert "does not exist or not authorized" in message  # the inner error, by its message only
    tables = {row[1] for row in sandbox.sql(f"SHOW TABLES IN SCHEMA {db}.PUBLIC")}
    assert tables == {"A"}, "statements before the error ran, the one after did not"


def test_a_multi_statement_request_needs_a_warehouse_even_for_ddl(sandbox: Sandbox) -> None:
    db = sandbox.name("DB")
    fresh = sandbox.connect("ADMIN", "admin")  # a new session: no warehouse in use
    with fresh.cursor() as cur:
        cur.execute("SELECT CURRENT_WAREHOUSE()")
        assert cur.fetchone() == (None,)
    with fresh.cursor() as cur, pytest.raises(snowflake.connector.errors.ProgrammingError) as failure:
        cur.execute(f"CREATE DATABASE {db}; CREATE SCHEMA {db}.S", num_statements=2)
    assert failure.value.errno == 606
    assert db not in {row[1] for row in sandbox.sql("SHOW DATABASES")}, "nothing ran"


def test_the_statement_count_is_checked_before_anything_runs(sandbox: Sandbox) -> None:
    db = sandbox.name("DB")
    with sandbox.admin.cursor() as cur, pytest.raises(snowflake.connector.errors.ProgrammingError) as failure:
        cur.execute(f"CREATE DATABASE {db}; CREATE SCHEMA {db}.S", num_statements=3)
    assert failure.value.errno == 8
    assert db not in {row[1] for row in sandbox.sql("SHOW DATABASES")}


def test_drop_database(sandbox: Sandbox) -> None:
    db = sandbox.name("DB")
    sandbox.sql(f"CREATE DATABASE {db}")
    sandbox.sql(f"CREATE TABLE {db}.PUBLIC.T (A INT)")
    assert sandbox.sql(f"DROP DATABASE {db}") == [(f"{db} successfully dropped.",)]
    assert db not in {row[1] for row in sandbox.sql("SHOW DATABASES")}
    assert errno_of(sandbox.admin, f"SELECT * FROM {db}.PUBLIC.T") == 2003
    assert sandbox.sql(f"DROP DATABASE IF EXISTS {db}")[0][0].startswith("Drop statement executed")
    # The name is free again, with nothing left of the old database.
    sandbox.sql(f"CREATE DATABASE {db}")
    assert sandbox.sql(f"SHOW TABLES IN SCHEMA {db}.PUBLIC") == []


def test_failed_statement_has_no_effect(sandbox: Sandbox) -> None:
    db = sandbox.name("DB")
    sandbox.sql(f"CREATE DATABASE {db}")
    sandbox.sql(f"CREATE TABLE {db}.PUBLIC.T (A INT)")
    # The second row does not fit the column: the whole INSERT fails and no row lands.
    assert errno_of(sandbox.admin, f"INSERT INTO {db}.PUBLIC.T VALUES (1), ('not a number')") != 0
    assert sandbox.sql(f"SELECT COUNT(*) FROM {db}.PUBLIC.T") == [(0,)]
    role = sandbox.name("R")
    sandbox.sql(f"CREATE ROLE {role}")
    # A grant naming a missing object fails and grants nothing.
    assert errno_of(sandbox.admin, f"GRANT SELECT ON TABLE {db}.PUBLIC.NOPE TO ROLE {role}") == 2003
    assert sandbox.sql(f"SHOW GRANTS TO ROLE {role}") == []


def test_unsupported_statement_fails_clearly(sandbox: Sandbox) -> None:
    with sandbox.admin.cursor() as cur, pytest.raises(snowflake.connector.errors.ProgrammingError) as failure:
        cur.execute("CREATE ALERT A_UNSUPPORTED SCHEDULE = '1 minute' IF (EXISTS (SELECT 1)) THEN SELECT 1")
    assert "not supported by snowlocal" in (failure.value.msg or "")


def test_syntax_error_is_snowflakes(sandbox: Sandbox) -> None:
    assert errno_of(sandbox.admin, "SELEC 1") == 1003


def test_wrong_password_is_refused(sandbox: Sandbox) -> None:
    with pytest.raises(snowflake.connector.errors.DatabaseError) as failure:
        snowflake.connector.connect(**sandbox.endpoint.connect_kwargs(password="wrong"))
    assert failure.value.errno == 390100


def test_context_functions(sandbox: Sandbox) -> None:
    assert query(sandbox.admin, "SELECT CURRENT_ROLE(), CURRENT_USER(), IS_ROLE_IN_SESSION('SYSADMIN')") == [
        ("ACCOUNTADMIN", "ADMIN", True)
    ]
