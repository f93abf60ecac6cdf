"""Intents compile to one idempotent statement each, names quoted and values bound."""

from __future__ import annotations

import pytest

from meshplane.common.snowflake.identifiers import UnsafeIdentifierError
from meshplane.common.snowflake.intents import (
    AllIn,
    Column,
    Comment,
    FutureIn,
    Grant,
    GrantRole,
    Object,
    Ownership,
    Revoke,
    RevokeRole,
    SecureView,
    Share,
    ShareAccounts,
    ShareGrant,
    Table,
    Tag,
    TagValues,
)
from meshplane.common.snowflake.statements import Plan, Statement

SCHEMA = ("SALES", "ORDERS_V1")
TABLE = ("SALES", "ORDERS_V1", "ORDER_LINES_DATA")
DOMAIN_TAG = ("SALES", "GOVERNANCE", "DOMAIN")


@pytest.mark.parametrize(
    ("intent", "sql"),
    [
        (
            Grant(("SELECT",), AllIn("VIEWS", SCHEMA), "R"),
            'GRANT SELECT ON ALL VIEWS IN SCHEMA "SALES"."ORDERS_V1" TO ROLE "R"',
        ),
        (
            Grant(("SELECT", "INSERT"), FutureIn("TABLES", SCHEMA), "R"),
            'GRANT SELECT, INSERT ON FUTURE TABLES IN SCHEMA "SALES"."ORDERS_V1" TO ROLE "R"',
        ),
        (
            Revoke(("USAGE",), Object("DATABASE", ("SALES",)), "R"),
            'REVOKE USAGE ON DATABASE "SALES" FROM ROLE "R"',
        ),
        (GrantRole("A", "B"), 'GRANT ROLE "A" TO ROLE "B"'),
        (RevokeRole("a", "b"), 'REVOKE ROLE "A" FROM ROLE "B"'),
        (
            ShareGrant("SELECT", Object("VIEW", ("SALES", "ORDERS_V1", "ORDER_LINES")), "SALES__ORDERS_V1"),
            'GRANT SELECT ON VIEW "SALES"."ORDERS_V1"."ORDER_LINES" TO SHARE "SALES__ORDERS_V1"',
        ),
        (
            ShareGrant("USAGE", Object("DATABASE", ("SALES",)), "S"),
            'GRANT USAGE ON DATABASE "SALES" TO SHARE "S"',
        ),
        (
            ShareAccounts("S", "ADD", ("partner_org.eu_account", "P.Q")),
            'ALTER SHARE "S" ADD ACCOUNTS = PARTNER_ORG.EU_ACCOUNT, P.Q',
        ),
        (ShareAccounts("S", "REMOVE", ("P.Q",)), 'ALTER SHARE IF EXISTS "S" REMOVE ACCOUNTS = P.Q'),
        (
            Ownership(Object("MASKING POLICY", ("SALES", "GOVERNANCE", "MASK_STRING")), "SALES_ADMIN"),
            'GRANT OWNERSHIP ON MASKING POLICY "SALES"."GOVERNANCE"."MASK_STRING" TO ROLE "SALES_ADMIN" '
            "COPY CURRENT GRANTS",
        ),
        (
            Table(TABLE, (Column("ID", "NUMBER(38,0)", not_null=True), Column("NAME", "VARCHAR"))),
            'CREATE TABLE IF NOT EXISTS "SALES"."ORDERS_V1"."ORDER_LINES_DATA" ("ID" NUMBER(38,0) NOT NULL, '
            '"NAME" VARCHAR)',
        ),
        (
            SecureView(("SALES", "ORDERS_V1", "ORDER_LINES"), ("ID",), TABLE, replace=True),
            'CREATE OR REPLACE SECURE VIEW "SALES"."ORDERS_V1"."ORDER_LINES" COPY GRANTS AS SELECT "ID" '
            'FROM "SALES"."ORDERS_V1"."ORDER_LINES_DATA"',
        ),
    ],
)
def test_each_intent_compiles_to_its_statement(intent: Grant, sql: str) -> None:
    assert intent.statement() == Statement(sql)


def test_values_are_bound_under_the_tags_own_names() -> None:
    statement = TagValues(
        Object("SCHEMA", SCHEMA),
        ((DOMAIN_TAG, "sales"), (("SALES", "GOVERNANCE", "LIFECYCLE"), "retired")),
        if_exists=True,
    ).statement()
    assert statement.sql == (
        'ALTER SCHEMA IF EXISTS "SALES"."ORDERS_V1" SET TAG "SALES"."GOVERNANCE"."DOMAIN" = %(domain)s, '
        '"SALES"."GOVERNANCE"."LIFECYCLE" = %(lifecycle)s'
    )
    assert dict(statement.params) == {"domain": "sales", "lifecycle": "retired"}
    column = TagValues(Object("TABLE", TABLE), ((DOMAIN_TAG, "x"),), column="ID").statement()
    assert column.sql.endswith('MODIFY COLUMN "ID" SET TAG "SALES"."GOVERNANCE"."DOMAIN" = %(domain)s')


def test_comments_and_allowed_values_are_bound_never_written_into_sql() -> None:
    hostile = "it's -- */ %s"
    database = Comment(Object("DATABASE", ("SALES",)), hostile).statement()
    assert database.sql == 'ALTER DATABASE "SALES" SET COMMENT = %(comment)s'
    column = Comment(Object("TABLE", TABLE), hostile, column="ID").statement()
    assert column.sql.startswith('COMMENT ON COLUMN "SALES"."ORDERS_V1"."ORDER_LINES_DATA"."ID" IS')
    tag = Tag(DOMAIN_TAG, hostile, ("a", hostile)).statement()
    assert hostile not in tag.sql
    assert dict(tag.params) == {"comment": hostile, "v0": "a", "v1": hostile}


def test_objects_refuse_a_wrong_number_of_parts_or_an_unsafe_name() -> None:
    with pytest.raises(ValueError, match="named by 2 part"):
        Object("SCHEMA", ("SALES",))
    with pytest.raises(UnsafeIdentifierError):
        Object("DATABASE", ('SALES"; DROP',))


def test_privileges_come_from_a_closed_list() -> None:
    with pytest.raises(ValueError, match="privileges must be"):
        Grant(("ALL PRIVILEGES",), Object("DATABASE", ("SALES",)), "R").statement()
    with pytest.raises(ValueError, match="privileges must be"):
        Grant((), Object("DATABASE", ("SALES",)), "R").statement()


def test_a_plan_of_intents_keeps_them_beside_their_statements_and_adds_up() -> None:
    first = Plan.of_intents("one", [GrantRole("A", "B")])
    second = Plan.of_intents("two", [GrantRole("B", "C"), GrantRole("C", "D")])
    both = first + second
    assert both.intents == (GrantRole("A", "B"), GrantRole("B", "C"), GrantRole("C", "D"))
    assert [s.sql for s in both] == [i.statement().sql for i in both.intents]
    # A plan of bare statements has no intents; adding one drops the intents rather than misalign them.
    assert (first + Plan.of("raw", Statement("SHOW ROLES"))).intents == ()
    with pytest.raises(ValueError, match="one for one"):
        Plan("x", (Statement("SHOW ROLES"),), (GrantRole("A", "B"), GrantRole("B", "C")))


def test_a_share_comment_is_bound_never_written_into_sql() -> None:
    statement = Share("s", "it's sales.orders v1").statement()
    assert statement.sql == 'CREATE SHARE IF NOT EXISTS "S" COMMENT = %(comment)s'
    assert statement.params == {"comment": "it's sales.orders v1"}


@pytest.mark.parametrize(
    ("privilege", "on"),
    [
        # SELECT on the secure views only, never on the table behind them
        ("SELECT", Object("TABLE", ("SALES", "ORDERS_V1", "ORDER_LINES_DATA"))),
        ("SELECT", Object("SCHEMA", SCHEMA)),
        ("USAGE", Object("VIEW", ("SALES", "ORDERS_V1", "ORDER_LINES"))),
        ("USAGE", Object("WAREHOUSE", ("SALES_WH",))),  # a share carries data, never compute
    ],
)
def test_a_share_holds_only_what_snowflake_lets_a_share_hold(privilege: str, on: Object) -> None:
    with pytest.raises(ValueError, match="a share cannot hold"):
        ShareGrant(privilege, on, "S")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "account",
    [
        "ORG",  # no account part
        "ORG.ACC; DROP SHARE S",
        "ORG.ACC, EVIL.ONE",  # one account per value: a list cannot be smuggled in
        'ORG."ACC"',
        "1ORG.ACC",
        "ORG.ACC.EXTRA",
        "\u041eRG.ACC",  # a Cyrillic O
        "",
    ],
)
def test_an_outside_account_that_is_not_org_dot_account_compiles_to_nothing(account: str) -> None:
    with pytest.raises(ValueError, match=r"ORG\.ACCOUNT"):
        ShareAccounts("S", "ADD", (account,))


def test_a_share_accounts_change_names_at_least_one_account() -> None:
    with pytest.raises(ValueError, match="at least one account"):
        ShareAccounts("S", "REMOVE", ())
