"""Forms the provisioner's plans rely on: COPY GRANTS, re-granting what is held, ADD COLUMN IF NOT EXISTS.

https://docs.snowflake.com/en/sql-reference/sql/create-view (COPY GRANTS: every privilege of the
replaced view except OWNERSHIP is copied, and future grants are then not applied),
https://docs.snowflake.com/en/sql-reference/sql/grant-ownership ,
https://docs.snowflake.com/en/sql-reference/sql/alter-table (ADD COLUMN IF NOT EXISTS).
"""

from __future__ import annotations

from tests.integration.snowlocal.conftest import Sandbox


def _setup(sandbox: Sandbox) -> tuple[str, str, str]:
    db, reader, other = sandbox.name("DB"), sandbox.name("READER"), sandbox.name("OTHER")
    sandbox.sql(f"CREATE DATABASE {db}")
    sandbox.sql(f"CREATE SCHEMA {db}.S WITH MANAGED ACCESS")
    sandbox.sql(f"CREATE TABLE {db}.S.T (A INT, B VARCHAR)")
    sandbox.sql(f"CREATE VIEW {db}.S.V AS SELECT A FROM {db}.S.T")
    for role in (reader, other):
        sandbox.sql(f"CREATE ROLE {role}")
    sandbox.sql(f"GRANT SELECT ON VIEW {db}.S.V TO ROLE {reader}")
    sandbox.sql(f"GRANT SELECT ON FUTURE VIEWS IN SCHEMA {db}.S TO ROLE {other}")
    return db, reader, other


def _grantees(sandbox: Sandbox, view: str) -> set[tuple[str, str]]:
    return {(r[1], r[5]) for r in sandbox.sql(f"SHOW GRANTS ON VIEW {view}")}


def test_copy_grants_keeps_the_replaced_views_grants_and_skips_future_grants(sandbox: Sandbox) -> None:
    db, reader, _other = _setup(sandbox)
    sandbox.sql(f"CREATE OR REPLACE SECURE VIEW {db}.S.V COPY GRANTS AS SELECT A, B FROM {db}.S.T")
    assert _grantees(sandbox, f"{db}.S.V") == {("OWNERSHIP", "ACCOUNTADMIN"), ("SELECT", reader)}


def test_without_copy_grants_the_replacement_gets_future_grants_only(sandbox: Sandbox) -> None:
    db, _reader, other = _setup(sandbox)
    sandbox.sql(f"CREATE OR REPLACE VIEW {db}.S.V AS SELECT A, B FROM {db}.S.T")
    assert _grantees(sandbox, f"{db}.S.V") == {("OWNERSHIP", "ACCOUNTADMIN"), ("SELECT", other)}


def test_granting_what_is_held_leaves_show_output_unchanged(sandbox: Sandbox) -> None:
    db, reader, other = _setup(sandbox)
    owner = sandbox.name("OWNER")
    sandbox.sql(f"CREATE ROLE {owner}")
    # Below the schema's owner first: in a managed-access schema ownership goes only to such a role.
    sandbox.sql(f"GRANT ROLE {owner} TO ROLE ACCOUNTADMIN")
    sandbox.sql(f"GRANT OWNERSHIP ON TABLE {db}.S.T TO ROLE {owner} COPY CURRENT GRANTS")
    before = (
        sandbox.sql(f"SHOW GRANTS ON TABLE {db}.S.T"),
        sandbox.sql(f"SHOW FUTURE GRANTS IN SCHEMA {db}.S"),
    )
    sandbox.sql(f"GRANT OWNERSHIP ON TABLE {db}.S.T TO ROLE {owner} COPY CURRENT GRANTS")
    sandbox.sql(f"GRANT SELECT ON FUTURE VIEWS IN SCHEMA {db}.S TO ROLE {other}")
    after = (
        sandbox.sql(f"SHOW GRANTS ON TABLE {db}.S.T"),
        sandbox.sql(f"SHOW FUTURE GRANTS IN SCHEMA {db}.S"),
    )
    assert after == before
    # A grant WITH GRANT OPTION over a plain one is a change, and shows.
    sandbox.sql(f"GRANT SELECT ON FUTURE VIEWS IN SCHEMA {db}.S TO ROLE {other} WITH GRANT OPTION")
    (row,) = [r for r in sandbox.sql(f"SHOW FUTURE GRANTS IN SCHEMA {db}.S") if r[5] == other]
    assert row[6] == "true"
    assert reader


def test_add_column_if_not_exists_runs_twice(sandbox: Sandbox) -> None:
    db, _reader, _other = _setup(sandbox)
    for _ in range(2):
        sandbox.sql(f"ALTER TABLE {db}.S.T ADD COLUMN IF NOT EXISTS C NUMBER(12,2)")
    names = [r[2] for r in sandbox.sql(f"SHOW COLUMNS IN TABLE {db}.S.T")]
    assert names == ["A", "B", "C"]
