"""ODCS contracts for the provisioner's tests, built from the sales-orders example with changes."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from open_data_contract_standard.model import OpenDataContractStandard

from meshplane.common.events.contract import MeshContract, read_contract

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "sales-orders.odcs.yaml"
_BASE: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))


def odcs_dict(
    domain: str = "sales",
    product: str = "orders",
    version: str = "1.0.0",
    *,
    extra_columns: list[dict[str, Any]] | None = None,
    drop_columns: tuple[str, ...] = (),
    retype: dict[str, str] | None = None,
    extra_ports: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    doc = copy.deepcopy(_BASE)
    doc["domain"], doc["dataProduct"], doc["version"] = domain, product, version
    port = doc["schema"][0]
    port["properties"] = [p for p in port["properties"] if p["name"] not in drop_columns]
    for prop in port["properties"]:
        if retype and prop["name"] in retype:
            prop["physicalType"] = retype[prop["name"]]
    port["properties"] += extra_columns or []
    doc["schema"] += extra_ports or []
    return doc


def contract(*args: Any, **kwargs: Any) -> MeshContract:
    return read_contract(OpenDataContractStandard.model_validate(odcs_dict(*args, **kwargs)))


DISCOUNT = {
    "name": "discount_eur",
    "physicalType": "NUMBER(12,2)",
    "classification": "restricted",
    "description": "Discount granted on the line, in euros.",
}
