"""``meshctl validate``: the examples pass, and a contract the mesh refuses is refused in one line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from meshplane.meshctl.cli import app
from meshplane.meshctl.contracts import describe, load_contract
from meshplane.meshctl.errors import MeshctlError

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"

runner = CliRunner()


def example(name: str = "sales-orders") -> dict[str, Any]:
    loaded = yaml.safe_load((EXAMPLES / f"{name}.odcs.yaml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def write_yaml(tmp_path: Path, document: object, name: str = "contract.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def assert_one_line_error(result: Any, *needles: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("meshctl: ")
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0]


@pytest.mark.parametrize(
    ("name", "summary"),
    [
        ("sales-orders", "ok: sales.orders 1.0.0, 1 output port, 2 pii columns"),
        ("marketing-campaigns", "ok: marketing.campaigns 1.0.0, 2 output ports, 0 pii columns"),
    ],
)
def test_the_examples_are_valid(name: str, summary: str) -> None:
    result = runner.invoke(app, ["validate", str(EXAMPLES / f"{name}.odcs.yaml")])
    assert result.exit_code == 0, result.output
    assert result.stdout == summary + "\n"
    assert result.stderr == ""


def test_a_json_contract_is_read_too(tmp_path: Path) -> None:
    path = tmp_path / "orders.json"
    path.write_text(json.dumps(example()), encoding="utf-8")
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok: sales.orders 1.0.0")


HOSTILE = {
    "sql injection": 'x"; drop table y; --',
    "300 characters": "a" * 300,
    "Cyrillic look-alike": "\u043erder_id",
}


@pytest.mark.parametrize("name", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_column_name_is_refused_in_one_line(tmp_path: Path, name: str) -> None:
    document = example()
    document["schema"][0]["properties"][0]["name"] = name
    result = runner.invoke(app, ["validate", str(write_yaml(tmp_path, document))])
    assert_one_line_error(result, "unsafe name", "schema[0].properties[0].name")


def test_a_hostile_domain_is_refused(tmp_path: Path) -> None:
    document = example()
    document["domain"] = "sales; drop"
    result = runner.invoke(app, ["validate", str(write_yaml(tmp_path, document))])
    assert_one_line_error(result, "unsafe name", "domain")


def test_a_contract_without_a_budget_is_refused(tmp_path: Path) -> None:
    document = example()
    del document["customProperties"]
    result = runner.invoke(app, ["validate", str(write_yaml(tmp_path, document))])
    assert_one_line_error(result, "contract refused", "monthlyCreditBudget")


def test_a_document_that_is_not_odcs_is_refused(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(write_yaml(tmp_path, {"kind": 3, "schema": "nope"}))])
    assert_one_line_error(result, "not an ODCS v3 contract")


@pytest.mark.parametrize(
    ("name", "text", "needle"),
    [
        ("broken.yaml", "schema: [\n", "not valid YAML"),
        ("broken.json", '{"id": ', "not valid JSON"),
        ("list.yaml", "- a\n- b\n", "a mapping"),
    ],
)
def test_an_unreadable_file_is_refused_in_one_line(tmp_path: Path, name: str, text: str, needle: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    assert_one_line_error(runner.invoke(app, ["validate", str(path)]), needle)


def test_a_missing_file_is_refused_in_one_line(tmp_path: Path) -> None:
    assert_one_line_error(runner.invoke(app, ["validate", str(tmp_path / "nope.yaml")]), "no such file")


def test_a_missing_argument_is_a_usage_error() -> None:
    result = runner.invoke(app, ["validate"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_an_unknown_command_is_a_usage_error() -> None:
    assert runner.invoke(app, ["frobnicate"]).exit_code == 2


def test_load_contract_reads_the_mesh_terms() -> None:
    loaded = load_contract(EXAMPLES / "sales-orders.odcs.yaml")
    assert loaded.mesh.product_id == "sales.orders"
    assert describe(loaded.mesh) == "sales.orders 1.0.0, 1 output port, 2 pii columns"


def test_restricted_columns_are_counted_when_present(tmp_path: Path) -> None:
    document = example()
    document["schema"][0]["properties"][0]["classification"] = "restricted"
    loaded = load_contract(write_yaml(tmp_path, document))
    assert describe(loaded.mesh).endswith(", 2 pii columns, 1 restricted column")


def test_errors_stay_on_one_line_whatever_they_quote() -> None:
    assert MeshctlError("a\nb\t c").message == "a b c"


def test_publish_refuses_an_invalid_contract_before_touching_kafka(tmp_path: Path) -> None:
    document = example()
    document["schema"][0]["properties"][0]["name"] = 'x"; drop table y; --'
    result = runner.invoke(
        app, ["publish", str(write_yaml(tmp_path, document)), "--bootstrap-servers", "127.0.0.1:1"]
    )
    assert_one_line_error(result, "unsafe name")


def test_publish_rejects_an_unknown_event_kind() -> None:
    result = runner.invoke(app, ["publish", str(EXAMPLES / "sales-orders.odcs.yaml"), "--event", "deleted"])
    assert result.exit_code == 2


def test_retire_refuses_an_invalid_domain_before_touching_kafka() -> None:
    result = runner.invoke(
        app, ["retire", "Sales!", "orders", "--major", "1", "--bootstrap-servers", "127.0.0.1:1"]
    )
    assert_one_line_error(result, "not a valid retirement", "domain")


def test_retire_needs_a_major_version() -> None:
    assert runner.invoke(app, ["retire", "sales", "orders"]).exit_code == 2


def test_a_reserved_domain_is_refused_with_the_reason(tmp_path: Path) -> None:
    document = example()
    document["domain"] = "snowflake"
    result = runner.invoke(app, ["validate", str(write_yaml(tmp_path, document))])
    assert_one_line_error(result, "domain", "reserved")
