"""The naming rule and the quoting helper, against hostile names."""

from __future__ import annotations

import pytest

from meshplane.common.snowflake.identifiers import (
    IDENTIFIER_MAX_LENGTH,
    UnsafeIdentifierError,
    canonical_identifier,
    is_safe_identifier,
    qualified_name,
    quote_identifier,
)
from meshplane.common.snowflake.statements import Plan, Statement

HOSTILE = {
    "double quote": 'sales"',
    "quote breakout": 'sales"; DROP DATABASE "PROD',
    "single quote": "sales'",
    "semicolon": "sales;drop",
    "line comment": "sales--x",
    "block comment": "sales/*x*/",
    "space": "sales orders",
    "tab": "sales\torders",
    "trailing newline": "sales\n",
    "leading space": " sales",
    "NUL": "sales\x00",
    "Cyrillic a": "s\u0430les",
    "fullwidth letters": "\uff33\uff21\uff2c\uff25\uff33",
    "zero-width joiner": "sa\u200dles",
    "zero-width space": "sales\u200b",
    "Turkish dotless i": "\u0131nventory",
    "Kelvin sign": "\u212aPI",
    "dot": "sales.orders",
    "hyphen": "sales-orders",
    "dollar": "sales$",
    "leading digit": "1sales",
    "leading underscore": "_sales",
    "empty": "",
    "65 characters": "a" * 65,
    "300 characters": "b" * 300,
}


@pytest.mark.parametrize("name", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_names_are_refused(name: str) -> None:
    with pytest.raises(UnsafeIdentifierError):
        quote_identifier(name)
    assert not is_safe_identifier(name)


@pytest.mark.parametrize("name", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_name_is_refused_before_any_sql_exists(name: str) -> None:
    built: list[Statement] = []

    def plan_for(domain: str) -> Plan:
        # The shape of a planner: the name is quoted while the text is being built.
        statement = Statement(f"CREATE DATABASE IF NOT EXISTS {quote_identifier(domain)}")
        built.append(statement)
        return Plan.of("create domain", statement)

    with pytest.raises(UnsafeIdentifierError):
        plan_for(name)
    assert built == []


def test_unsafe_identifier_error_is_a_value_error_that_says_why() -> None:
    with pytest.raises(ValueError, match="SEMICOLON at position 5"):
        quote_identifier("sales;drop")
    with pytest.raises(UnsafeIdentifierError, match="non-ASCII character U\\+0430 CYRILLIC SMALL LETTER A"):
        quote_identifier("s\u0430les")
    with pytest.raises(UnsafeIdentifierError, match="is empty"):
        quote_identifier("")
    with pytest.raises(UnsafeIdentifierError, match="must start with an ASCII letter"):
        quote_identifier("1sales")


def test_the_error_does_not_echo_a_huge_value() -> None:
    with pytest.raises(UnsafeIdentifierError) as caught:
        quote_identifier("x" * 5_000_000)
    message = str(caught.value)
    assert len(message) < 200
    assert "5000000 characters" in message
    assert caught.value.reason.startswith("is 5000000 characters long")


def test_the_error_escapes_invisible_characters() -> None:
    with pytest.raises(UnsafeIdentifierError) as caught:
        quote_identifier("sa\u200dles\x00")
    assert "\\u200d" in caught.value.preview
    assert "\u200d" not in str(caught.value)
    assert "\x00" not in str(caught.value)


def test_non_strings_are_refused() -> None:
    with pytest.raises(UnsafeIdentifierError, match="not a string"):
        quote_identifier(42)  # type: ignore[arg-type]
    assert not is_safe_identifier(None)


@pytest.mark.parametrize(
    ("name", "quoted"),
    [
        ("sales", '"SALES"'),
        ("SALES", '"SALES"'),
        ("Sales_Orders_2024", '"SALES_ORDERS_2024"'),
        ("a", '"A"'),
        ("order", '"ORDER"'),  # a reserved word is fine once quoted
        ("x" * IDENTIFIER_MAX_LENGTH, '"' + "X" * IDENTIFIER_MAX_LENGTH + '"'),
    ],
)
def test_valid_names_are_upper_cased_and_quoted(name: str, quoted: str) -> None:
    assert quote_identifier(name) == quoted
    assert canonical_identifier(name) == quoted.strip('"')
    assert is_safe_identifier(name)


def test_qualified_names_are_built_from_validated_parts() -> None:
    assert qualified_name("sales") == '"SALES"'
    assert qualified_name("sales", "orders") == '"SALES"."ORDERS"'
    assert qualified_name("sales", "orders", "daily") == '"SALES"."ORDERS"."DAILY"'


def test_a_dotted_name_is_not_a_qualified_name() -> None:
    with pytest.raises(UnsafeIdentifierError):
        qualified_name("sales.orders")
    with pytest.raises(UnsafeIdentifierError):
        qualified_name("sales", 'orders"."x')


@pytest.mark.parametrize("parts", [(), ("a", "b", "c", "d")])
def test_qualified_names_have_one_to_three_parts(parts: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match="1 to 3 parts"):
        qualified_name(*parts)
