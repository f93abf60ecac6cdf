"""The catalog in memory: entries, search, lineage (text and Mermaid), and the inputs it lacks."""

from __future__ import annotations

import pytest
from open_data_contract_standard.model import OpenDataContractStandard

from meshplane.common.catalog import Catalog, entries
from meshplane.common.events import CatalogEntry
from meshplane.common.events.contract import ContractError, read_contract
from tests.unit.provisioner.contracts import odcs_dict


def product(domain: str, name: str, *inputs: str, owner: str = "team") -> CatalogEntry:
    doc = odcs_dict()
    doc.update(domain=domain, dataProduct=name, team={"name": owner})
    doc["customProperties"].append({"property": "inputs", "value": list(inputs)})
    return entries.provisioned(
        None, read_contract(OpenDataContractStandard.model_validate(doc)), doc, changed_by="e"
    )


@pytest.fixture
def mesh() -> Catalog:
    # raw -> clean -> (report, forecast); forecast also reads ref
    return Catalog(
        [
            product("sales", "raw"),
            product("sales", "clean", "sales.raw"),
            product("finance", "report", "sales.clean", owner="finance-team"),
            product("finance", "forecast", "sales.clean", "finance.ref"),
            product("finance", "ref"),
        ]
    )


def test_lineage_goes_upstream_and_downstream_level_by_level(mesh: Catalog) -> None:
    lineage = mesh.lineage("sales.clean")
    assert lineage.upstream == [("sales.clean", "sales.raw")]
    assert lineage.downstream == [("finance.forecast", "sales.clean"), ("finance.report", "sales.clean")]
    far = mesh.lineage("finance.forecast")
    assert far.upstream == [
        ("finance.forecast", "sales.clean"),
        ("finance.forecast", "finance.ref"),
        ("sales.clean", "sales.raw"),
    ]
    assert far.downstream == []


def test_lineage_text_and_mermaid(mesh: Catalog) -> None:
    lineage = mesh.lineage("sales.clean")
    text = lineage.text()
    assert "upstream:   sales.raw -> sales.clean" in text
    assert "downstream: sales.clean -> finance.report" in text
    mermaid = lineage.mermaid().splitlines()
    assert mermaid[0] == "flowchart LR"
    assert '  p0["sales.clean"]' in mermaid
    assert "  p1 --> p0" in mermaid  # sales.raw feeds sales.clean
    assert mermaid[-1] == "  style p0 stroke-width:3px"


def test_a_cycle_does_not_loop_forever() -> None:
    catalog = Catalog([product("a", "x", "b.y"), product("b", "y", "a.x")])
    lineage = catalog.lineage("a.x")
    assert lineage.upstream == [("a.x", "b.y"), ("b.y", "a.x")]


def test_search_finds_by_id_owner_and_column_case_insensitively(mesh: Catalog) -> None:
    assert [e.product_id for e in mesh.search("FINANCE-TEAM")] == ["finance.report"]
    assert len(mesh.search("customer_email")) == 5
    assert mesh.search("nothing like it") == []


def test_missing_inputs_are_those_unknown_or_only_retired(mesh: Catalog) -> None:
    mesh.put(entries.retired(product("sales", "old"), 1, changed_by="r"))
    assert mesh.missing_inputs(["sales.raw", "sales.old", "hr.people"]) == ["sales.old", "hr.people"]


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        (["sales.orders"], "built from itself"),
        (["Sales.Orders"], "not a product id"),
        (["snowflake.account_usage"], "not a product id"),
        (["a.b", "a.b"], "listed twice"),
        ("sales.raw", "a list"),
    ],
)
def test_inputs_that_cannot_be_lineage_are_refused(inputs: object, message: str) -> None:
    doc = odcs_dict()
    doc["customProperties"].append({"property": "inputs", "value": inputs})
    with pytest.raises(ContractError, match=message):
        read_contract(OpenDataContractStandard.model_validate(doc))
