"""The example contracts, and what the mesh accepts, follow the official ODCS schema of the version
they declare."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from open_data_contract_standard.model import OpenDataContractStandard

from meshplane.common.events.contract import ContractError, read_contract
from tests.unit.provisioner.contracts import odcs_dict

EXAMPLES = sorted((Path(__file__).parents[3] / "examples").glob("*.odcs.yaml"))


def official_schema() -> dict[str, Any]:
    """The JSON Schema Bitol publishes, as shipped in the open-data-contract-standard package."""
    text = resources.files("open_data_contract_standard").joinpath("schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_each_example_validates_against_the_official_schema_of_the_version_it_declares(path: Path) -> None:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    schema = official_schema()
    # The shipped schema is the one of its default version: the examples declare exactly that one.
    assert document["apiVersion"] == schema["properties"]["apiVersion"]["default"]
    jsonschema.validate(document, schema)


def test_a_v3_0_contract_with_the_v3_1_team_object_is_refused_with_the_reason() -> None:
    doc = odcs_dict()
    doc["apiVersion"] = "v3.0.2"
    assert isinstance(doc["team"], dict)
    with pytest.raises(ContractError, match=r"team as an object is ODCS v3\.1\.0") as refused:
        read_contract(OpenDataContractStandard.model_validate(doc))
    assert refused.value.where == "team"


def test_a_v3_0_contract_listing_its_team_members_is_read() -> None:
    doc = odcs_dict()
    doc["apiVersion"] = "v3.0.2"
    doc["team"] = [{"username": "ada", "role": "owner"}]
    assert read_contract(OpenDataContractStandard.model_validate(doc)).owner == "ada"


@pytest.mark.parametrize("version", ["v2.2.2", "v4.0.0"])
def test_a_version_the_mesh_does_not_read_is_refused(version: str) -> None:
    doc = odcs_dict()
    doc["apiVersion"] = version
    with pytest.raises((ContractError, ValueError), match=r"apiVersion|v3"):
        read_contract(OpenDataContractStandard.model_validate(doc))
