"""Observation: the SHOW plan and reading its results, without Snowflake."""

from __future__ import annotations

from typing import Any

import pytest

from meshplane.common.layout import DOMAIN_READY_MARKER
from meshplane.common.snowflake.results import PlanResult, Requests, StatementResult
from meshplane.common.snowflake.statements import Plan
from meshplane.provisioner.observe import (
    Observed,
    columns_plan,
    observation_plan,
    observe,
    read_observation,
)


def result(plan: Plan, *rows: list[dict[str, Any]]) -> PlanResult:
    results = tuple(StatementResult(s, "q", len(r), tuple(r)) for s, r in zip(plan, rows, strict=True))
    # As the gateway runs a reads-only plan: a request per statement.
    return PlanResult(plan, "tag", results, round_trips=len(results), http_requests=len(results))


def test_the_observation_plan_is_show_only_with_bound_patterns() -> None:
    plan = observation_plan("sales", "orders", 1)
    assert [s.sql for s in plan] == [
        "SHOW DATABASES LIKE %(database)s",
        "SHOW SCHEMAS LIKE %(schema)s IN ACCOUNT",
        "SHOW ROLES LIKE %(role)s",
    ]
    assert [dict(s.params) for s in plan] == [
        {"database": "SALES"},
        {"schema": "ORDERS_V1"},
        {"role": "SALES__ORDERS_V1_READER"},
    ]
    assert len(observation_plan("sales")) == 1
    assert [s.sql for s in columns_plan("sales", "orders", 1)] == [
        'SHOW COLUMNS IN SCHEMA "SALES"."ORDERS_V1"'
    ]
    with pytest.raises(ValueError, match="both"):
        observation_plan("sales", "orders")


def test_reading_matches_names_exactly_and_needs_the_marker() -> None:
    plan = observation_plan("sales", "orders", 1)
    databases = [
        {"name": "SALESX", "comment": DOMAIN_READY_MARKER},  # LIKE's _ and case matched it; not ours
        {"name": "SALES", "comment": "created by hand"},
    ]
    schemas = [{"name": "ORDERS_V1", "database_name": "OTHER"}]
    observed = read_observation(result(plan, databases, schemas, []), "sales", "orders", 1)
    assert observed == Observed(
        domain_ready=False, product_schema_exists=False, columns={}, reader_role_exists=False
    )
    databases[1]["comment"] = f"Domain sales. {DOMAIN_READY_MARKER}"
    schemas.append({"name": "ORDERS_V1", "database_name": "SALES"})
    roles = [{"name": "SALES__ORDERS_V1_READER"}]
    observed = read_observation(result(plan, databases, schemas, roles), "sales", "orders", 1)
    assert (observed.domain_ready, observed.product_schema_exists, observed.reader_role_exists) == (
        True,
        True,
        True,
    )
    assert observed.columns is None  # the schema exists but its columns were not read
    cols = columns_plan("sales", "orders", 1)
    show = [
        {
            "database_name": "SALES",
            "schema_name": "ORDERS_V1",
            "table_name": "T_DATA",
            "column_name": "A",
            "data_type": "x",
        },
        {
            "database_name": "SALES",
            "schema_name": "OTHER",
            "table_name": "T_DATA",
            "column_name": "B",
            "data_type": "y",
        },
    ]
    observed = read_observation(
        result(plan, databases, schemas, roles), "sales", "orders", 1, columns=result(cols, show)
    )
    assert observed.columns == {"T_DATA": {"A": "x"}}


class FakeGateway:
    def __init__(self, *answers: list[list[dict[str, Any]]]) -> None:
        self.answers = list(answers)
        self.plans: list[Plan] = []

    async def execute(self, plan: Plan, query_tag: str) -> PlanResult:
        self.plans.append(plan)
        return result(plan, *self.answers.pop(0))

    async def query(self, statement: Any, query_tag: str | None = None) -> Any:
        raise AssertionError("observation runs plans")

    async def aclose(self) -> None:
        return None


async def test_observe_costs_a_request_per_show_and_reads_columns_only_when_the_schema_exists() -> None:
    empty = FakeGateway([[], [], []])
    observed, cost = await observe(empty, "sales", "orders", 1, query_tag="t")
    assert (observed.product_schema_exists, cost) == (False, Requests(3, 3))
    ready = [{"name": "SALES", "comment": DOMAIN_READY_MARKER}]
    full = FakeGateway(
        [ready, [{"name": "ORDERS_V1", "database_name": "SALES"}], []],
        [
            [
                {
                    "database_name": "SALES",
                    "schema_name": "ORDERS_V1",
                    "table_name": "T",
                    "column_name": "A",
                    "data_type": "x",
                }
            ]
        ],
    )
    observed, cost = await observe(full, "sales", "orders", 1, query_tag="t")
    assert cost == Requests(4, 4)
    assert observed.columns == {"T": {"A": "x"}}
    domain_only = FakeGateway([ready])
    observed, cost = await observe(domain_only, "sales", None, None, query_tag="t")
    assert (observed.domain_ready, observed.product_schema_exists, cost) == (True, None, Requests(1, 1))
