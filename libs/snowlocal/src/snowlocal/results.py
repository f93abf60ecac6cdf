"""Result sets that snowlocal builds itself (SHOW output, status lines), as the connector reads them.

A column's type is one of the rowtype types the connector understands in a JSON result:
`text`, `fixed`, `boolean`, `timestamp_ltz`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fakesnow import statement_type


@dataclass(frozen=True)
class Column:
    name: str
    type: str = "text"


@dataclass
class ResultSet:
    columns: list[Column]
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    # The statement type id the connector reads; snowlocal's own result sets are mostly SHOW output.
    statement_type_id: int = statement_type.SHOW


def status(message: str) -> ResultSet:
    """The one-row `status` result Snowflake gives for DDL and DCL."""
    return ResultSet([Column("status")], [(message,)], statement_type.DDL)


def already_exists_status(name: str) -> ResultSet:
    """What CREATE ... IF NOT EXISTS answers when the object is already there."""
    return status(f"{name} already exists, statement succeeded.")


def columns(*specs: str) -> list[Column]:
    """`columns("created_on:timestamp_ltz", "name", ...)`: text unless a type follows the colon."""
    out = []
    for spec in specs:
        name, _, kind = spec.partition(":")
        out.append(Column(name, kind or "text"))
    return out


def like_filter(pattern: str | None) -> Callable[[str], bool]:
    """SHOW ... LIKE '<pattern>': case-insensitive, % and _ wildcards."""
    if pattern is None:
        return lambda _name: True
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    compiled = re.compile(regex + r"\Z", re.IGNORECASE | re.DOTALL)
    return lambda name: bool(compiled.match(name))
