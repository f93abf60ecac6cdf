"""The provisioner's planner: pure, so every case is a function call and a look at the statements."""

from __future__ import annotations

import dataclasses
import itertools
import re
from types import MappingProxyType
from typing import Any

import pytest
from open_data_contract_standard.model import OpenDataContractStandard

from meshplane.common.events.contract import ContractError, read_contract
from meshplane.common.events.names import is_mesh_name
from meshplane.common.layout import DOMAIN_READY_MARKER, READER_ROLES_OWNER, domain_layout, product_layout
from meshplane.common.snowflake.identifiers import UnsafeIdentifierError
from meshplane.common.snowflake.intents import (
    AllIn,
    DropRole,
    FutureIn,
    Grant,
    GrantRole,
    MaskingPolicyBody,
    Object,
    Ownership,
    Revoke,
    Role,
    TagValues,
)
from meshplane.common.snowflake.statements import Plan, Statement
from meshplane.provisioner.observe import (
    ASSUME_DOMAIN_READY,
    NOTHING_EXISTS,
    Observed,
)
from meshplane.provisioner.plan import (
    BreakingChange,
    plan_product_created,
    plan_product_retired,
    plan_product_updated,
)
from tests.unit.provisioner.contracts import DISCOUNT, contract, odcs_dict

SERVICE = "MESHPLANE_PROVISIONER"


def sqls(plan: Plan) -> list[str]:
    return [s.sql for s in plan]


def find(plan: Plan, pattern: str) -> list[Statement]:
    return [s for s in plan if re.search(pattern, s.sql)]


def existing_columns() -> Observed:
    """What SHOW COLUMNS reports for sales.orders v1 as created from the example contract."""
    fixed = '{{"type":"FIXED","precision":{},"scale":{},"nullable":true}}'
    text = '{{"type":"TEXT","length":{},"byteLength":{},"nullable":true,"fixed":false}}'
    table = {
        "ORDER_ID": fixed.format(38, 0),
        "LINE_NUMBER": fixed.format(9, 0),
        "CUSTOMER_EMAIL": text.format(320, 1280),
        "CUSTOMER_NAME": text.format(16777216, 16777216),
        "AMOUNT_EUR": fixed.format(12, 2),
        "ORDERED_AT": '{"type":"TIMESTAMP_NTZ","precision":0,"scale":9,"nullable":true}',
    }
    return Observed(
        domain_ready=True,
        product_schema_exists=True,
        columns=MappingProxyType({"ORDER_LINES_DATA": table, "ORDER_LINES": dict(table)}),
        reader_role_exists=True,
    )


# -- product.created --------------------------------------------------------------------------------
def test_new_domain_sets_up_the_domain_then_the_product_and_marks_it_ready_last() -> None:
    plan = plan_product_created(contract(), NOTHING_EXISTS, service_role=SERVICE)
    text = sqls(plan)
    assert 'CREATE DATABASE IF NOT EXISTS "SALES"' in text
    warehouse = find(plan, r'^CREATE WAREHOUSE IF NOT EXISTS "SALES_WH"')[0]
    assert "INITIALLY_SUSPENDED = TRUE" in warehouse.sql
    assert warehouse.params["size"] == "XSMALL"
    assert warehouse.params["auto_suspend"] == 60
    roles = {i.name for i in plan.intents if isinstance(i, Role)}
    assert roles == {"SALES_ADMIN", "SALES_ENGINEER", "SALES_CONSUMER", "SALES__ORDERS_V1_READER"}
    # The role tree: consumer under engineer under admin under the service role.
    tree = [i for i in plan.intents if isinstance(i, GrantRole)]
    assert tree == [
        GrantRole("SALES_CONSUMER", "SALES_ENGINEER"),
        GrantRole("SALES_ENGINEER", "SALES_ADMIN"),
        GrantRole("SALES_ADMIN", SERVICE),
    ]
    # Every object of the domain and the product ends up owned by the domain's admin role; the
    # reader role by the role that owns reader roles (so that sharing, holding it, may grant it).
    owned = {(i.on.kind, i.on.name) for i in plan.intents if isinstance(i, Ownership) and i.on.kind != "ROLE"}
    assert all(
        i.role == "SALES_ADMIN" for i in plan.intents if isinstance(i, Ownership) and i.on.kind != "ROLE"
    )
    assert [
        (i.on.name, i.role) for i in plan.intents if isinstance(i, Ownership) and i.on.kind == "ROLE"
    ] == [(("SALES__ORDERS_V1_READER",), READER_ROLES_OWNER)]
    assert {
        ("DATABASE", ("SALES",)),
        ("WAREHOUSE", ("SALES_WH",)),
        ("SCHEMA", ("SALES", "ORDERS_V1")),
    } <= owned
    assert len([kind for kind, _ in owned if kind == "MASKING POLICY"]) == 8
    # The domain's last statement is the ready marker; the product follows it.
    marker = find(plan, r'^ALTER DATABASE "SALES" SET COMMENT')
    assert len(marker) == 1
    assert DOMAIN_READY_MARKER in str(marker[0].params["comment"])
    position = text.index(marker[0].sql)
    assert all("SALES_WH" not in s and 'GOVERNANCE"."MASK' not in s for s in text[position + 1 :])
    assert text[position + 1].startswith(
        'CREATE SCHEMA IF NOT EXISTS "SALES"."ORDERS_V1" WITH MANAGED ACCESS'
    )
    assert plan.description.startswith("product.created sales.orders v1: set up domain sales")


def test_existing_domain_plans_only_the_product_completely() -> None:
    plan = plan_product_created(contract(), ASSUME_DOMAIN_READY, service_role=SERVICE)
    text = sqls(plan)
    assert not find(plan, r"CREATE (DATABASE|WAREHOUSE)|MASKING POLICY|CREATE TAG")
    assert not find(plan, r'"SALES_(ADMIN|ENGINEER|CONSUMER)" COMMENT')
    assert text[0] == 'CREATE SCHEMA IF NOT EXISTS "SALES"."ORDERS_V1" WITH MANAGED ACCESS'
    table = find(plan, r'^CREATE TABLE IF NOT EXISTS "SALES"."ORDERS_V1"."ORDER_LINES_DATA"')[0].sql
    assert '"ORDER_ID" NUMBER(38,0) NOT NULL' in table
    assert '"CUSTOMER_EMAIL" VARCHAR(320),' in table
    assert (
        'CREATE SECURE VIEW IF NOT EXISTS "SALES"."ORDERS_V1"."ORDER_LINES" AS SELECT "ORDER_ID", '
        '"LINE_NUMBER", "CUSTOMER_EMAIL", "CUSTOMER_NAME", "AMOUNT_EUR", "ORDERED_AT" '
        'FROM "SALES"."ORDERS_V1"."ORDER_LINES_DATA"'
    ) in text
    reader = "SALES__ORDERS_V1_READER"
    schema = ("SALES", "ORDERS_V1")
    # What the reader role holds, exactly: usage on the way in, SELECT on the views and only them.
    assert {i for i in plan.intents if isinstance(i, Grant) and i.to_role == reader} == {
        Grant(("USAGE",), Object("DATABASE", ("SALES",)), reader),
        Grant(("USAGE",), Object("SCHEMA", schema), reader),
        Grant(("SELECT",), FutureIn("VIEWS", schema), reader),
        Grant(("SELECT",), AllIn("VIEWS", schema), reader),
    }
    tags = find(plan, r'^ALTER SCHEMA "SALES"."ORDERS_V1" SET TAG')[0]
    assert dict(tags.params) == {"domain": "sales", "product": "orders", "lifecycle": "active"}


def test_pii_columns_are_tagged_and_masked_by_policies_on_the_classification_tag() -> None:
    plan = plan_product_created(contract(), NOTHING_EXISTS, service_role=SERVICE)
    policies = find(plan, r"^CREATE MASKING POLICY IF NOT EXISTS")
    assert len(policies) == 8  # one per type family
    string_policy = find(plan, r'GOVERNANCE"\."MASK_STRING" AS \(VAL VARCHAR\) RETURNS VARCHAR')[0]
    # The primary role itself, not its hierarchy: roles above the engineer read masked.
    assert "CURRENT_ROLE() = %(engineer)s" in string_policy.sql
    assert "IS_ROLE_IN_SESSION" not in string_policy.sql
    # Each policy's body is set again, for domains whose policies an earlier release made.
    bodies = [i for i in plan.intents if isinstance(i, MaskingPolicyBody)]
    assert len(bodies) == 8
    assert all(i.statement().sql.startswith("ALTER MASKING POLICY") for i in bodies)
    assert "SYSTEM$GET_TAG_ON_CURRENT_COLUMN(%(tag)s)" in string_policy.sql
    assert string_policy.params["engineer"] == "SALES_ENGINEER"
    assert string_policy.params["tag"] == "SALES.GOVERNANCE.CLASSIFICATION"
    assert (string_policy.params["pii"], string_policy.params["restricted"]) == ("pii", "restricted")
    assert string_policy.params["masked"] == "***MASKED***"
    attach = find(plan, r'^ALTER TAG "SALES"."GOVERNANCE"."CLASSIFICATION" SET MASKING POLICY')
    assert len(attach) == 1
    assert attach[0].sql.endswith(" FORCE")
    assert attach[0].sql.count("MASKING POLICY") == 8
    column_tags = {
        re.search(r'MODIFY COLUMN "(\w+)"', s.sql).group(1): s.params["classification"]  # type: ignore[union-attr]
        for s in find(plan, r"MODIFY COLUMN .* SET TAG")
    }
    assert column_tags["CUSTOMER_EMAIL"] == column_tags["CUSTOMER_NAME"] == "pii"
    assert column_tags["ORDER_ID"] == "internal"
    assert column_tags["ORDERED_AT"] == "public"


def test_every_identifier_is_quoted_and_every_value_is_bound() -> None:
    hostile_text = 'Ada\'s "order"; DROP TABLE x; -- /* */ %s %(x)s \u202e\u0430'
    doc = odcs_dict()
    doc["description"]["purpose"] = hostile_text
    doc["schema"][0]["description"] = hostile_text
    doc["schema"][0]["properties"][0]["description"] = hostile_text
    mesh = read_contract(OpenDataContractStandard.model_validate(doc))
    plans = [
        plan_product_created(mesh, NOTHING_EXISTS, service_role=SERVICE),
        plan_product_updated(mesh, existing_columns(), service_role=SERVICE),
        plan_product_retired("sales", "orders", 1, existing_columns(), service_role=SERVICE),
    ]
    names = {"SALES", "ORDERS_V1", "ORDER_LINES", "ORDER_LINES_DATA", "SALES_ADMIN", "GOVERNANCE"}
    for plan in plans:
        for statement in plan:
            assert "'" not in statement.sql, statement.sql  # no literal at all: values are bound
            assert hostile_text not in statement.sql
            unquoted = re.sub(r'"[^"]*"', "", statement.sql)
            assert not names & set(re.findall(r"[A-Z_][A-Z0-9_]*", unquoted)), statement.sql
    bound = [v for plan in plans for s in plan for v in s.params.values()]
    assert hostile_text in bound
    assert Plan("x", plans[0].statements).compile()  # the text meshctl shows is buildable


# -- product.updated --------------------------------------------------------------------------------
def test_update_adds_a_column_and_recreates_the_view_with_its_grants() -> None:
    plan = plan_product_updated(contract(extra_columns=[DISCOUNT]), existing_columns(), service_role=SERVICE)
    text = sqls(plan)
    table = '"SALES"."ORDERS_V1"."ORDER_LINES_DATA"'
    assert f'ALTER TABLE {table} ADD COLUMN IF NOT EXISTS "DISCOUNT_EUR" NUMBER(12,2)' in text
    tag = find(plan, r'MODIFY COLUMN "DISCOUNT_EUR" SET TAG')[0]
    assert tag.params["classification"] == "restricted"
    comment = find(plan, r'^COMMENT ON COLUMN .*"DISCOUNT_EUR" IS')[0]
    assert comment.params["comment"] == DISCOUNT["description"]
    view = find(plan, r"^CREATE OR REPLACE SECURE VIEW")[0].sql
    assert "COPY GRANTS" in view
    assert '"DISCOUNT_EUR" FROM' in view
    assert not find(plan, r"CREATE DATABASE")  # the domain is ready
    assert plan.description.startswith("product.updated sales.orders v1")


def test_update_without_changes_keeps_the_view() -> None:
    plan = plan_product_updated(contract(), existing_columns(), service_role=SERVICE)
    assert not find(plan, r"ADD COLUMN|OR REPLACE")


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"drop_columns": ("customer_name",)}, ["ORDER_LINES.CUSTOMER_NAME", "removed", "v2"]),
        ({"retype": {"amount_eur": "NUMBER(14,2)"}}, ["AMOUNT_EUR", "NUMBER(12,2)", "NUMBER(14,2)", "v2"]),
        ({"retype": {"customer_email": "VARCHAR"}}, ["CUSTOMER_EMAIL", "VARCHAR(320)", "v2"]),
    ],
)
def test_breaking_updates_are_refused_with_a_reason(changes: dict[str, Any], words: list[str]) -> None:
    with pytest.raises(BreakingChange) as refused:
        plan_product_updated(contract(**changes), existing_columns(), service_role=SERVICE)
    for word in words:
        assert word in refused.value.reason


def test_a_removed_port_is_refused() -> None:
    observed = existing_columns()
    assert observed.columns is not None
    columns = dict(observed.columns) | {"REFUNDS_DATA": {"ID": '{"type":"FIXED"}'}, "REFUNDS": {}}
    with pytest.raises(BreakingChange, match="output port REFUNDS"):
        plan_product_updated(contract(), dataclasses.replace(observed, columns=columns), service_role=SERVICE)


def test_an_unbounded_varchar_matches_what_show_reports() -> None:
    plan = plan_product_updated(contract(), existing_columns(), service_role=SERVICE)
    assert not find(plan, "ADD COLUMN")  # CUSTOMER_NAME VARCHAR == TEXT length 16777216


def test_a_new_major_version_gets_its_own_schema_beside_the_old() -> None:
    observed = Observed(domain_ready=True, product_schema_exists=False, columns={}, reader_role_exists=False)
    plan = plan_product_updated(
        contract(version="2.0.0", drop_columns=("customer_name",)), observed, service_role=SERVICE
    )
    text = " ".join(sqls(plan))
    assert 'CREATE SCHEMA IF NOT EXISTS "SALES"."ORDERS_V2" WITH MANAGED ACCESS' in text
    assert "ORDERS_V1" not in text
    assert '"SALES__ORDERS_V2_READER"' in text


def test_an_update_of_a_missing_schema_is_planned_like_a_create() -> None:
    observed = Observed(domain_ready=False, product_schema_exists=False, columns={}, reader_role_exists=False)
    updated = plan_product_updated(contract(), observed, service_role=SERVICE)
    created = plan_product_created(contract(), observed, service_role=SERVICE)
    assert updated.statements == created.statements


def test_an_update_of_an_existing_schema_needs_observed_columns() -> None:
    with pytest.raises(ValueError, match="observed columns"):
        plan_product_updated(contract(), ASSUME_DOMAIN_READY, service_role=SERVICE)


# -- product.retired --------------------------------------------------------------------------------
def test_retire_revokes_drops_the_reader_and_tags_the_schema_retired() -> None:
    plan = plan_product_retired("sales", "orders", 1, existing_columns(), service_role=SERVICE)
    reader, schema = "SALES__ORDERS_V1_READER", ("SALES", "ORDERS_V1")
    assert plan.intents == (
        Revoke(("SELECT",), FutureIn("VIEWS", schema), reader),
        Revoke(("SELECT",), AllIn("VIEWS", schema), reader),
        Revoke(("USAGE",), Object("SCHEMA", schema), reader),
        Revoke(("USAGE",), Object("DATABASE", ("SALES",)), reader),
        DropRole(reader),
        TagValues(
            Object("SCHEMA", schema), ((("SALES", "GOVERNANCE", "LIFECYCLE"), "retired"),), if_exists=True
        ),
    )
    assert not find(plan, r"^DROP (SCHEMA|TABLE|VIEW|DATABASE)")  # data is never dropped


def test_retire_again_with_the_role_gone_plans_nothing_that_can_fail() -> None:
    observed = dataclasses.replace(existing_columns(), reader_role_exists=False)
    plan = plan_product_retired("sales", "orders", 1, observed, service_role=SERVICE)
    assert not [i for i in plan.intents if isinstance(i, Revoke)]
    assert plan.intents[0] == DropRole("SALES__ORDERS_V1_READER")
    unobserved = plan_product_retired("sales", "orders", 1, ASSUME_DOMAIN_READY, service_role=SERVICE)
    assert not [i for i in unobserved.intents if isinstance(i, Revoke)]
    nothing = plan_product_retired("sales", "orders", 1, NOTHING_EXISTS, service_role=SERVICE)
    assert nothing.intents == (DropRole("SALES__ORDERS_V1_READER"),)


# -- hostile names ----------------------------------------------------------------------------------
HOSTILE = [
    'sales"; DROP DATABASE x',
    "sales;drop",
    "sales--x",
    "sales/*x*/",
    "s\u0430les",  # Cyrillic a
    "\uff53ales",  # fullwidth s
    "sales\u200d",  # zero-width joiner
    "a" * 300,
]


@pytest.mark.parametrize("name", HOSTILE)
@pytest.mark.parametrize("where", ["domain", "product", "port", "column"])
def test_hostile_names_in_a_contract_are_refused(name: str, where: str) -> None:
    doc = odcs_dict()
    if where == "domain":
        doc["domain"] = name
    elif where == "product":
        doc["dataProduct"] = name
    elif where == "port":
        doc["schema"][0]["name"] = doc["schema"][0]["physicalName"] = name
    else:
        doc["schema"][0]["properties"][0]["name"] = name
    with pytest.raises(ContractError) as refused:
        read_contract(OpenDataContractStandard.model_validate(doc))
    assert refused.value.unsafe_name


@pytest.fixture
def no_statements(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        pytest.fail("a plan was compiled for a hostile name")

    monkeypatch.setattr(Plan, "of_intents", classmethod(refuse))


@pytest.mark.parametrize("name", HOSTILE)
@pytest.mark.usefixtures("no_statements")
def test_hostile_names_reach_no_statement(name: str) -> None:
    with pytest.raises(UnsafeIdentifierError):
        plan_product_retired(name, "orders", 1, ASSUME_DOMAIN_READY, service_role=SERVICE)
    with pytest.raises(UnsafeIdentifierError):
        plan_product_retired("sales", name, 1, ASSUME_DOMAIN_READY, service_role=SERVICE)
    with pytest.raises(UnsafeIdentifierError):
        plan_product_created(contract(), ASSUME_DOMAIN_READY, service_role=name)
    # A contract built without read_contract is checked whole before the first statement.
    mesh = contract()
    port = mesh.output_ports[0]
    bad_column = dataclasses.replace(port.columns[-1], name=name)
    bad_port = dataclasses.replace(port, columns=(*port.columns[:-1], bad_column))
    with pytest.raises(UnsafeIdentifierError):
        plan_product_created(
            dataclasses.replace(mesh, output_ports=(bad_port,)), NOTHING_EXISTS, service_role=SERVICE
        )


@pytest.mark.usefixtures("no_statements")
def test_a_column_type_outside_the_list_reaches_no_statement() -> None:
    mesh = contract()
    port = mesh.output_ports[0]
    bad = dataclasses.replace(port.columns[0], sql_type="VARCHAR) ; DROP TABLE x")
    with pytest.raises(ValueError, match="outside the mesh's list"):
        plan_product_created(
            dataclasses.replace(mesh, output_ports=(dataclasses.replace(port, columns=(bad,)),)),
            ASSUME_DOMAIN_READY,
            service_role=SERVICE,
        )


# -- layout -----------------------------------------------------------------------------------------
def test_layout_names() -> None:
    d = domain_layout("sales")
    assert (d.database, d.warehouse, d.admin_role, d.engineer_role, d.consumer_role) == (
        "SALES",
        "SALES_WH",
        "SALES_ADMIN",
        "SALES_ENGINEER",
        "SALES_CONSUMER",
    )
    assert d.classification_tag == ("SALES", "GOVERNANCE", "CLASSIFICATION")
    p = product_layout("sales", "orders", 1)
    assert (p.schema, p.reader_role) == ("ORDERS_V1", "SALES__ORDERS_V1_READER")
    port = p.port("order_lines")
    assert port.view == ("SALES", "ORDERS_V1", "ORDER_LINES")
    assert port.table == ("SALES", "ORDERS_V1", "ORDER_LINES_DATA")


def test_long_names_are_shortened_deterministically_within_the_limit() -> None:
    domain, product = "d" * 32, "p" * 32
    one = product_layout(domain, product, 999_999)
    two = product_layout(domain, "p" * 31 + "q", 999_999)
    assert len(one.reader_role) <= 64
    assert one.reader_role.endswith("_READER")
    assert one.reader_role == product_layout(domain, product, 999_999).reader_role
    assert one.reader_role != two.reader_role
    plan_product_created(contract(domain, product, "999999.0.0"), NOTHING_EXISTS, service_role=SERVICE)


def test_a_port_name_leaves_room_for_its_table() -> None:
    doc = odcs_dict()
    doc["schema"][0]["name"] = doc["schema"][0]["physicalName"] = "p" * 60
    with pytest.raises(ContractError, match="at most 59"):
        read_contract(OpenDataContractStandard.model_validate(doc))
    doc["schema"][0]["name"] = doc["schema"][0]["physicalName"] = "p" * 59
    plan_product_created(
        read_contract(OpenDataContractStandard.model_validate(doc)), NOTHING_EXISTS, service_role=SERVICE
    )


def test_no_two_products_share_a_reader_role_whatever_their_domains() -> None:
    # Every valid name of up to four characters over {a, b, _}: all the ways a separator could hide
    # inside a name. Reader roles are account-wide, so a shared one would open one domain's product
    # to another's readers.
    names = [
        "".join(chars)
        for length in range(1, 5)
        for chars in itertools.product("ab_", repeat=length)
        if is_mesh_name("".join(chars))
    ]
    roles: dict[str, tuple[str, str]] = {}
    for domain in names:
        for product in names:
            role = product_layout(domain, product, 1).reader_role
            assert roles.setdefault(role, (domain, product)) == (domain, product), role
    assert product_layout("a", "b_c", 1).reader_role != product_layout("a_b", "c", 1).reader_role


@pytest.mark.parametrize("name", ["a__b", "ab_", "a_", "a___b"])
def test_double_and_trailing_underscores_are_refused_in_domain_and_product_names(name: str) -> None:
    for field in ("domain", "dataProduct"):
        doc = odcs_dict()
        doc[field] = name
        with pytest.raises(ContractError, match="single underscores") as refused:
            read_contract(OpenDataContractStandard.model_validate(doc))
        assert refused.value.unsafe_name
    with pytest.raises(UnsafeIdentifierError):
        product_layout(name, "orders", 1)
    with pytest.raises(UnsafeIdentifierError):
        product_layout("sales", name, 1)
