"""Statements and plans: the Snowflake work a planner decides on, as plain data.

A planner returns a :class:`Plan` — a description and a tuple of :class:`Statement` objects — and
does no I/O. Turning a plan into text a human reads (:meth:`Plan.compile`, behind ``meshctl plan``)
is separate from running it (the gateway), in the manner of Titan's plan/apply split.

SQL text and values never meet in this module. A statement's ``sql`` is a template in the
connector's ``pyformat`` paramstyle: identifiers are already in it (quoted by
:func:`~meshplane.common.snowflake.identifiers.quote_identifier`), values appear as
``%(name)s`` placeholders and are carried separately in ``params``. A literal ``%`` is written
``%%``. The connector binds pyformat parameters on the client: it escapes and quotes each value
and substitutes it into the text before sending (see ``SnowflakeCursor.execute`` and
https://docs.snowflake.com/en/developer-guide/python-connector/python-connector-example ,
"Binding data"). That is the binding the mesh relies on: the escaping is the connector's, done
on typed values, never string formatting of ours. Server-side (qmark) binding is not used because
Snowflake does not accept bind variables in a multi-statement request
(https://docs.snowflake.com/en/developer-guide/sql-api/submitting-multiple-statements), and a plan
runs as one multi-statement request.

Rules a template must follow, checked when the statement is built:

* one statement, no ``;`` — the gateway joins statements itself and tells Snowflake how many there
  are (``MULTI_STATEMENT_COUNT``), so a stray separator would change the count;
* no SQL comments (``--``, ``/*``) — a trailing line comment would swallow the separator;
* every ``%`` is either ``%%`` or a ``%(name)s`` placeholder, and placeholders and params match
  exactly;
* values are ``str``, ``int``, finite ``float``, ``bool`` or ``None`` — the types the connector's
  client-side binding renders as literals (a NaN float would be rendered as the bare word ``nan``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, Protocol, TypeAlias

__all__ = [
    "QUERY_TAG_MAX_LENGTH",
    "Compiles",
    "ParamValue",
    "Plan",
    "RenderedRequest",
    "Statement",
    "render_request",
    "set_query_tag",
]

ParamValue: TypeAlias = str | int | float | bool | None

_PARAM_TYPES: Final = (str, int, float, bool, type(None))

# A ``%`` token in a template: the escaped percent sign, a named placeholder, or anything else
# (which is an error). Names follow Python's identifier shape in ASCII.
_PERCENT_TOKEN_RE: Final = re.compile(r"%(?:(?P<escaped>%)|\((?P<name>[A-Za-z_][A-Za-z0-9_]*)\)s)?", re.ASCII)

#: https://docs.snowflake.com/en/sql-reference/parameters#query-tag : "String (up to 2000 characters)".
QUERY_TAG_MAX_LENGTH: Final = 2000


def _placeholders(sql: str) -> tuple[str, ...]:
    """The placeholder names in ``sql`` in order; raises ValueError on a bare ``%``."""
    names: list[str] = []
    for match in _PERCENT_TOKEN_RE.finditer(sql):
        if match.group("escaped"):
            continue
        name = match.group("name")
        if name is None:
            raise ValueError(
                f"a bare '%' at position {match.start()} of a statement template: write '%%' for a "
                "literal percent sign or '%(name)s' for a bound value"
            )
        names.append(name)
    return tuple(names)


def _check_value(name: str, value: object) -> None:
    # Exact types: the connector picks its conversion by the class name, so an IntEnum or a str
    # subclass would fail at execution time, far from the planner that built it.
    if type(value) not in _PARAM_TYPES:
        raise TypeError(
            f"parameter {name!r} is a {type(value).__name__}; bound values must be str, int, float, "
            "bool or None"
        )
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"parameter {name!r} is {value!r}; only finite floats can be bound")


@dataclass(frozen=True, slots=True)
class Statement:
    """One SQL statement: a pyformat template and the values bound into it.

    >>> Statement('COMMENT ON DATABASE "SALES" IS %(comment)s', {"comment": "Sales domain"})
    """

    sql: str
    params: Mapping[str, ParamValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.sql, str) or not self.sql.strip():
            raise ValueError("a statement needs SQL text")
        if ";" in self.sql:
            raise ValueError(
                "a statement template holds one statement: no ';' (the gateway joins statements)"
            )
        if "--" in self.sql or "/*" in self.sql:
            raise ValueError("a statement template may not contain SQL comments ('--' or '/*')")
        used = _placeholders(self.sql)
        given = dict(self.params)
        missing = sorted(set(used) - given.keys())
        unused = sorted(given.keys() - set(used))
        if missing:
            raise ValueError(f"placeholders without a value: {', '.join(missing)}")
        if unused:
            raise ValueError(f"values without a placeholder: {', '.join(unused)}")
        for name, value in given.items():
            _check_value(name, value)
        # A read-only copy, so a frozen statement really cannot change after it was checked.
        object.__setattr__(self, "sql", self.sql.strip())
        object.__setattr__(self, "params", MappingProxyType(given))

    def __hash__(self) -> int:
        return hash((self.sql, tuple(sorted(self.params.items()))))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Statement):
            return NotImplemented
        return self.sql == other.sql and dict(self.params) == dict(other.params)

    def __repr__(self) -> str:
        if self.params:
            return f"Statement({self.sql!r}, {dict(self.params)!r})"
        return f"Statement({self.sql!r})"

    def compile(self) -> str:
        """The statement as a human reads it: the template, then the bound values as a comment.

        The values are shown JSON-encoded, so a value with a line break or a ``*/`` cannot end the
        comment and turn into SQL if someone pastes the output into a worksheet.
        """
        text = f"{self.sql};"
        if self.params:
            shown = ", ".join(f"{name} = {json.dumps(value)}" for name, value in sorted(self.params.items()))
            text += f"  -- bound: {shown}"
        return text


class Compiles(Protocol):
    """Something a plan wants that compiles to one statement (see :mod:`.intents`)."""

    def statement(self) -> Statement: ...


def _one_line(text: str) -> str:
    return " ".join(text.splitlines())


@dataclass(frozen=True, slots=True)
class Plan:
    """What to do, in order, and why: a description and a tuple of statements.

    A plan made by :meth:`of_intents` also keeps what it wants as data (``intents``, one per
    statement, in the same order), for tests and for reconcilers that compare it with what
    Snowflake reports. A plan is safe to run twice: planners use ``IF NOT EXISTS``, ``IF EXISTS``
    and grants, which are idempotent. An empty plan means there is nothing to do.
    """

    description: str
    statements: tuple[Statement, ...] = ()
    intents: tuple[Compiles, ...] = ()

    def __post_init__(self) -> None:
        statements = tuple(self.statements)
        for position, statement in enumerate(statements):
            if not isinstance(statement, Statement):
                raise TypeError(f"plan item {position} is a {type(statement).__name__}, not a Statement")
        object.__setattr__(self, "statements", statements)
        object.__setattr__(self, "intents", tuple(self.intents))
        if self.intents and len(self.intents) != len(statements):
            raise ValueError("a plan's intents and statements go one for one")

    @classmethod
    def of(cls, description: str, *statements: Statement) -> Plan:
        return cls(description, statements)

    @classmethod
    def of_intents(cls, description: str, intents: Iterable[Compiles]) -> Plan:
        """Compile ``intents``, in order, into the plan's statements; keep them beside."""
        wanted = tuple(intents)
        return cls(description, tuple(intent.statement() for intent in wanted), wanted)

    def __len__(self) -> int:
        return len(self.statements)

    def __iter__(self) -> Iterator[Statement]:
        return iter(self.statements)

    def __add__(self, other: Plan) -> Plan:
        """Two plans run one after the other, as one plan (and so one round trip)."""
        if not isinstance(other, Plan):
            return NotImplemented
        # Intents are kept only when both sides have them for every statement.
        whole = all(plan.intents or not plan.statements for plan in (self, other))
        intents = self.intents + other.intents if whole else ()
        return Plan(f"{self.description}; {other.description}", self.statements + other.statements, intents)

    def compile(self) -> str:
        """The SQL a human reads for this plan (``meshctl plan``): numbered statements with their values.

        This text is for reading. What runs is the same templates with the same values, bound by
        the connector (see the module docstring); nothing here is ever sent to Snowflake.
        """
        count = len(self.statements)
        noun = "statement" if count == 1 else "statements"
        lines = [f"-- plan: {_one_line(self.description)} ({count} {noun})"]
        if not self.statements:
            lines.append("-- nothing to do")
        for number, statement in enumerate(self.statements, start=1):
            lines.append(f"-- [{number}/{count}]")
            lines.append(statement.compile())
        return "\n".join(lines) + "\n"


def set_query_tag(query_tag: str) -> Statement:
    """``ALTER SESSION SET QUERY_TAG = <tag>``, the tag bound as a value.

    QUERY_TAG is a session parameter (https://docs.snowflake.com/en/sql-reference/parameters#query-tag);
    it tags every later query of the session in QUERY_HISTORY, which is how cost attribution and
    auditors join Snowflake's history to the mesh's events.
    """
    if not isinstance(query_tag, str):
        raise TypeError("a query tag is a string")
    if len(query_tag) > QUERY_TAG_MAX_LENGTH:
        raise ValueError(f"a query tag has at most {QUERY_TAG_MAX_LENGTH} characters, got {len(query_tag)}")
    return Statement("ALTER SESSION SET QUERY_TAG = %(query_tag)s", {"query_tag": query_tag})


@dataclass(frozen=True, slots=True)
class RenderedRequest:
    """The text and values of one request to the connector, for ``cursor.execute(sql, params)``.

    ``params`` is ``None`` when nothing is bound: the connector then sends ``sql`` as it is, so
    the ``%%`` escapes have already been turned back into ``%``.
    """

    sql: str
    params: Mapping[str, ParamValue] | None
    statement_count: int
    #: Each statement's template, in order (to tell reads from DDL).
    statements: tuple[str, ...] = ()
    #: The line of ``sql`` on which each statement starts (1-based), to name a failing statement
    #: from the line Snowflake reports.
    first_lines: tuple[int, ...] = ()

    def statement_at_line(self, line: int) -> int | None:
        """The position of the statement that spans ``line`` of the request, if any."""
        found = None
        for position, first in enumerate(self.first_lines):
            if first <= line:
                found = position
        return found


def _renamed(statement: Statement, position: int) -> tuple[str, dict[str, ParamValue]]:
    # Placeholders of different statements may share a name; prefixing each with the statement's
    # position keeps them apart in the one dict the request binds. ``s<position>_`` followed by a
    # name that cannot start with a digit never collides with another statement's prefix.
    prefix = f"s{position}_"

    def rename(match: re.Match[str]) -> str:
        name = match.group("name")
        return match.group(0) if name is None else f"%({prefix}{name})s"

    sql = _PERCENT_TOKEN_RE.sub(rename, statement.sql)
    return sql, {f"{prefix}{name}": value for name, value in statement.params.items()}


def render_request(statements: Iterable[Statement]) -> RenderedRequest:
    """Join statements into the text of one (possibly multi-statement) request.

    Each statement ends up on its own lines, separated by ``;``. Snowflake splits a
    multi-statement request on the ``;`` between statements
    (https://docs.snowflake.com/en/developer-guide/sql-api/submitting-multiple-statements).
    """
    statements = tuple(statements)
    if not statements:
        raise ValueError("a request needs at least one statement")
    parts: list[str] = []
    params: dict[str, ParamValue] = {}
    first_lines: list[int] = []
    line = 1
    for position, statement in enumerate(statements):
        sql, renamed = _renamed(statement, position)
        first_lines.append(line)
        line += sql.count("\n") + 2  # the statement's lines, then the ";" line
        parts.append(sql)
        params.update(renamed)
    sql = "\n;\n".join(parts)
    templates = tuple(statement.sql for statement in statements)
    if not params:
        # With nothing to bind the connector does not interpolate, so undo the %% escapes here.
        return RenderedRequest(sql % {}, None, len(statements), templates, tuple(first_lines))
    return RenderedRequest(sql, MappingProxyType(params), len(statements), templates, tuple(first_lines))
