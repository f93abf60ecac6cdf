"""The docs generator: one JSON Schema per event type, deterministic, and a check that finds stale files."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from meshplane.common.events import EVENT_TYPES
from meshplane.meshctl import docs
from meshplane.meshctl.cli import app

runner = CliRunner()


def test_one_schema_per_registered_event_type() -> None:
    files = docs.render_event_schemas()
    assert sorted(files) == sorted(f"docs/events/{name}.schema.json" for name in EVENT_TYPES)
    for name in EVENT_TYPES:
        schema = json.loads(files[f"docs/events/{name}.schema.json"])
        assert schema["$id"] == f"urn:meshplane:event:{name}"
        assert schema["title"] == name
        assert schema["description"]
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["type"] == "object"


def test_schemas_use_the_wire_names() -> None:
    created = json.loads(docs.render_event_schemas()["docs/events/mesh.product.created.v1.schema.json"])
    # by_alias: ODCS's ``schema_`` field is ``schema`` on the wire.
    contract = created["$defs"]["OpenDataContractStandard"]["properties"]
    assert "schema" in contract
    assert "schema_" not in contract


def test_output_is_deterministic_with_a_trailing_newline() -> None:
    first, second = docs.render_all(), docs.render_all()
    assert first == second
    for path, text in first.items():
        if path.endswith(".json"):
            assert text.endswith("}\n")
        assert text.endswith("\n")
        assert not text.endswith("\n\n")


def test_write_then_check_finds_nothing_stale(tmp_path: Path) -> None:
    assert docs.check(tmp_path) == sorted(docs.render_all())
    assert docs.write(tmp_path) == sorted(docs.render_all())
    assert docs.check(tmp_path) == []
    assert docs.write(tmp_path) == []


def test_check_lists_changed_and_orphaned_files(tmp_path: Path) -> None:
    docs.write(tmp_path)
    changed = tmp_path / "docs/events/mesh.product.retired.v1.schema.json"
    changed.write_text(changed.read_text() + " ", encoding="utf-8")
    orphan = tmp_path / "docs/events/mesh.product.exploded.v1.schema.json"
    orphan.write_text("{}\n", encoding="utf-8")
    (tmp_path / "docs/events/README.md").write_text("not generated\n", encoding="utf-8")

    assert docs.check(tmp_path) == [
        "docs/events/mesh.product.exploded.v1.schema.json",
        "docs/events/mesh.product.retired.v1.schema.json",
    ]
    docs.write(tmp_path)
    assert not orphan.exists()
    assert (tmp_path / "docs/events/README.md").exists()
    assert docs.check(tmp_path) == []


def test_the_cli_checks_and_writes(tmp_path: Path) -> None:
    stale = runner.invoke(app, ["docs", "--check", "--root", str(tmp_path)])
    assert stale.exit_code == 1
    assert "meshctl docs --write" in stale.stderr
    assert len(stale.stderr.splitlines()) == 1

    wrote = runner.invoke(app, ["docs", "--write", "--root", str(tmp_path)])
    assert wrote.exit_code == 0, wrote.output
    assert wrote.stdout.count("wrote docs/events/") == len(EVENT_TYPES)

    ok = runner.invoke(app, ["docs", "--check", "--root", str(tmp_path)])
    assert ok.exit_code == 0, ok.output


def test_the_cli_wants_one_of_write_or_check() -> None:
    assert runner.invoke(app, ["docs"]).exit_code == 2
    assert runner.invoke(app, ["docs", "--write", "--check"]).exit_code == 2


def test_the_workspace_root_is_found_from_a_subfolder() -> None:
    here = Path(__file__).resolve()
    assert docs.find_root(here.parent) == here.parents[3]
