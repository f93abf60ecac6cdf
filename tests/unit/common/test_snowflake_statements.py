"""Statements and plans as data: template rules, compile output, the request text the gateway sends."""

from __future__ import annotations

import enum
import math

import pytest

from meshplane.common.snowflake.identifiers import qualified_name, quote_identifier
from meshplane.common.snowflake.statements import (
    QUERY_TAG_MAX_LENGTH,
    Plan,
    Statement,
    render_request,
    set_query_tag,
)


def product_plan() -> Plan:
    database = quote_identifier("sales")
    schema = qualified_name("sales", "orders")
    return Plan.of(
        "provision product sales.orders",
        Statement(f"CREATE DATABASE IF NOT EXISTS {database}"),
        Statement(f"CREATE SCHEMA IF NOT EXISTS {schema} WITH MANAGED ACCESS"),
        Statement(f"COMMENT ON SCHEMA {schema} IS %(comment)s", {"comment": "Orders, daily"}),
    )


def test_plan_compile_is_the_sql_a_human_reads() -> None:
    assert product_plan().compile() == (
        "-- plan: provision product sales.orders (3 statements)\n"
        "-- [1/3]\n"
        'CREATE DATABASE IF NOT EXISTS "SALES";\n'
        "-- [2/3]\n"
        'CREATE SCHEMA IF NOT EXISTS "SALES"."ORDERS" WITH MANAGED ACCESS;\n'
        "-- [3/3]\n"
        'COMMENT ON SCHEMA "SALES"."ORDERS" IS %(comment)s;  -- bound: comment = "Orders, daily"\n'
    )


def test_compile_cannot_be_broken_out_of_by_a_value_or_a_description() -> None:
    hostile = "x\n*/ DROP DATABASE PROD; --"
    plan = Plan.of(f"describe {hostile}", Statement("COMMENT ON DATABASE D IS %(c)s", {"c": hostile}))
    lines = plan.compile().splitlines()
    # Every line is either a comment or a statement template: the value stayed on its comment line.
    assert [line for line in lines if not line.startswith("--")] == [
        'COMMENT ON DATABASE D IS %(c)s;  -- bound: c = "x\\n*/ DROP DATABASE PROD; --"'
    ]


def test_an_empty_plan_compiles_to_nothing_to_do() -> None:
    assert (
        Plan("already in place").compile() == "-- plan: already in place (0 statements)\n-- nothing to do\n"
    )


def test_plans_are_frozen_values() -> None:
    assert product_plan() == product_plan()
    assert hash(product_plan()) == hash(product_plan())
    statement = Statement("SELECT %(x)s", {"x": 1})
    with pytest.raises(AttributeError):
        statement.sql = "DROP DATABASE PROD"  # type: ignore[misc]
    with pytest.raises(TypeError):
        statement.params["x"] = 2  # type: ignore[index]


def test_params_are_copied_so_the_caller_cannot_change_them_later() -> None:
    values = {"x": "before"}
    statement = Statement("SELECT %(x)s", values)
    values["x"] = "after"
    assert statement.params == {"x": "before"}


def test_plans_concatenate() -> None:
    first = Plan.of("one", Statement("SELECT 1"))
    second = Plan.of("two", Statement("SELECT 2"))
    both = first + second
    assert both.description == "one; two"
    assert [s.sql for s in both] == ["SELECT 1", "SELECT 2"]
    assert len(both) == 2


def test_a_plan_holds_only_statements() -> None:
    with pytest.raises(TypeError, match="plan item 0 is a str"):
        Plan("bad", ("DROP DATABASE PROD",))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("sql", "params", "error"),
    [
        ("", {}, "needs SQL text"),
        ("   ", {}, "needs SQL text"),
        ("SELECT 1; SELECT 2", {}, "no ';'"),
        ("SELECT 1 -- note", {}, "comments"),
        ("SELECT /* note */ 1", {}, "comments"),
        ("SELECT 'a%'", {}, "bare '%'"),
        ("SELECT %s", {}, "bare '%'"),
        ("SELECT %(x)s", {}, "without a value: x"),
        ("SELECT 1", {"x": 1}, "without a placeholder: x"),
    ],
)
def test_templates_are_checked(sql: str, params: dict[str, int], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        Statement(sql, params)


class Colour(enum.IntEnum):
    RED = 1


@pytest.mark.parametrize("value", [b"bytes", [1, 2], Colour.RED, object()])
def test_only_plain_scalar_values_bind(value: object) -> None:
    with pytest.raises(TypeError, match="bound values must be"):
        Statement("SELECT %(x)s", {"x": value})  # type: ignore[dict-item]


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_floats_do_not_bind(value: float) -> None:
    # The connector would render nan as the bare word nan: an identifier, not a value.
    with pytest.raises(ValueError, match="finite"):
        Statement("SELECT %(x)s", {"x": value})


@pytest.mark.parametrize("value", ["text", 3, 2.5, True, None])
def test_plain_scalars_bind(value: str | int | float | bool | None) -> None:
    assert Statement("SELECT %(x)s", {"x": value}).params == {"x": value}


def test_one_statement_renders_as_itself() -> None:
    request = render_request([Statement("SHOW DATABASES LIKE 'SALES%%'")])
    # Nothing bound, so the connector sends the text as is: the %% escape is undone here.
    assert request.sql == "SHOW DATABASES LIKE 'SALES%'"
    assert request.params is None
    assert request.statement_count == 1


def test_statements_render_into_one_request_with_placeholders_kept_apart() -> None:
    request = render_request(
        [
            set_query_tag("provisioner/evt-1"),
            Statement("COMMENT ON DATABASE A IS %(comment)s", {"comment": "first"}),
            Statement("SHOW DATABASES LIKE 'A%%'"),
            Statement("COMMENT ON DATABASE B IS %(comment)s", {"comment": "second"}),
        ]
    )
    assert request.statement_count == 4
    assert request.sql == (
        "ALTER SESSION SET QUERY_TAG = %(s0_query_tag)s\n;\n"
        "COMMENT ON DATABASE A IS %(s1_comment)s\n;\n"
        "SHOW DATABASES LIKE 'A%%'\n;\n"
        "COMMENT ON DATABASE B IS %(s3_comment)s"
    )
    assert request.params == {
        "s0_query_tag": "provisioner/evt-1",
        "s1_comment": "first",
        "s3_comment": "second",
    }
    # What the connector's pyformat binding does next, with its own quoting of each value:
    assert request.sql % {k: f"'{v}'" for k, v in request.params.items()} == (
        "ALTER SESSION SET QUERY_TAG = 'provisioner/evt-1'\n;\n"
        "COMMENT ON DATABASE A IS 'first'\n;\n"
        "SHOW DATABASES LIKE 'A%'\n;\n"
        "COMMENT ON DATABASE B IS 'second'"
    )


def test_an_empty_request_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one statement"):
        render_request([])


def test_the_query_tag_is_bound_and_limited_to_2000_characters() -> None:
    statement = set_query_tag("it's; -- a tag")
    assert statement.sql == "ALTER SESSION SET QUERY_TAG = %(query_tag)s"
    assert statement.params == {"query_tag": "it's; -- a tag"}
    set_query_tag("t" * QUERY_TAG_MAX_LENGTH)
    with pytest.raises(ValueError, match="at most 2000"):
        set_query_tag("t" * (QUERY_TAG_MAX_LENGTH + 1))
