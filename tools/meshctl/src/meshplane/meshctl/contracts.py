"""Reading a data contract file (ODCS v3, YAML or JSON) into the mesh's terms, with one-line reasons."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from open_data_contract_standard.model import OpenDataContractStandard
from pydantic import ValidationError

from meshplane.common.events import ContractError, MeshContract, read_contract
from meshplane.meshctl.errors import MeshctlError

__all__ = ["LoadedContract", "describe", "load_contract", "one_line_validation_error"]

# Error messages quote at most this much of a file's own text.
_PREVIEW = 160


@dataclass(frozen=True)
class LoadedContract:
    odcs: OpenDataContractStandard
    mesh: MeshContract


def one_line_validation_error(exc: ValidationError, *, prefix: str = "") -> str:
    """The first error of a pydantic ValidationError (and how many more there are), on one line."""
    errors = exc.errors(include_url=False, include_input=False)
    if not errors:
        return f"{prefix}invalid"
    first = errors[0]
    where = ".".join(str(part) for part in first["loc"]) or "document"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{prefix}{where}: {first['msg']}{more}"


def _parse(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MeshctlError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise MeshctlError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise MeshctlError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        if path.suffix.lower() == ".json":
            return json.loads(text)
        return yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise MeshctlError(f"{path}: not valid JSON: {exc.msg} at line {exc.lineno}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise MeshctlError(f"{path}: not valid YAML: {problem}{at}") from None


def load_contract(path: Path) -> LoadedContract:
    """Read ``path`` as an ODCS contract the mesh can act on, or raise :class:`MeshctlError` saying why."""
    document = _parse(path)
    if not isinstance(document, dict):
        raise MeshctlError(f"{path}: a data contract is a mapping (ODCS v3), not {type(document).__name__}")
    try:
        odcs = OpenDataContractStandard.model_validate(document)
    except ValidationError as exc:
        raise MeshctlError(
            one_line_validation_error(exc, prefix=f"{path}: not an ODCS v3 contract: ")
        ) from None
    try:
        mesh = read_contract(odcs)
    except ContractError as exc:
        kind = "unsafe name" if exc.unsafe_name else "contract refused"
        raise MeshctlError(f"{path}: {kind}: {exc.where}: {exc.message[: _PREVIEW * 2]}") from None
    return LoadedContract(odcs=odcs, mesh=mesh)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def describe(mesh: MeshContract) -> str:
    """``sales.orders 1.0.0, 1 output port, 2 pii columns``."""
    columns = [column for port in mesh.output_ports for column in port.columns]
    parts = [
        f"{mesh.product_id} {mesh.version}",
        _count(len(mesh.output_ports), "output port"),
        _count(sum(column.classification == "pii" for column in columns), "pii column"),
    ]
    restricted = sum(column.classification == "restricted" for column in columns)
    if restricted:
        parts.append(_count(restricted, "restricted column"))
    return ", ".join(parts)
