"""Intents: what a plan wants to be true in Snowflake, as data, compiled to statements apart.

A planner says *what* it wants — this role exists, that role holds SELECT on all views of a schema,
this object is owned by the domain's admin, that column carries a tag — as frozen, comparable
values (Titan's way). :meth:`Plan.of_intents <meshplane.common.snowflake.statements.Plan.of_intents>`
compiles them, in order, into the :class:`~meshplane.common.snowflake.statements.Statement` objects
the gateway runs, and keeps them beside the statements, so that

* tests assert on intents (``Grant(("SELECT",), AllIn("VIEWS", schema), reader) in plan.intents``)
  instead of searching SQL text;
* a reconciler can compare the grants it wants with what ``SHOW GRANTS`` reports (sharing's expiry
  and drift), which SQL strings cannot give it.

Every intent compiles to one idempotent statement: ``IF NOT EXISTS`` / ``IF EXISTS``, grants
(granting what is held changes nothing), ownership to the owner it already has. Names are
canonical (upper case, the mesh's rule) and reach SQL only through ``quote_identifier`` /
``qualified_name``; every value is a bound parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, TypeAlias

from meshplane.common.snowflake.identifiers import canonical_account, qualified_name, quote_identifier
from meshplane.common.snowflake.statements import ParamValue, Statement

__all__ = [
    "AddColumn",
    "AllIn",
    "Column",
    "Comment",
    "Database",
    "DropRole",
    "FutureIn",
    "Grant",
    "GrantRole",
    "Intent",
    "MaskingPolicy",
    "MaskingPolicyBody",
    "Object",
    "ObjectKind",
    "Ownership",
    "Revoke",
    "RevokeRole",
    "Role",
    "Schema",
    "SecureView",
    "Share",
    "ShareAccounts",
    "ShareGrant",
    "Table",
    "Tag",
    "TagMaskingPolicies",
    "TagValues",
    "Warehouse",
]

ObjectKind: TypeAlias = Literal[
    "DATABASE", "SCHEMA", "WAREHOUSE", "TABLE", "VIEW", "TAG", "MASKING POLICY", "ROLE"
]
#: How many name parts an object of each kind has: database-level, schema-level, schema objects.
_NAME_PARTS: Final[dict[str, int]] = {
    "DATABASE": 1,
    "WAREHOUSE": 1,
    "ROLE": 1,
    "SCHEMA": 2,
    "TABLE": 3,
    "VIEW": 3,
    "TAG": 3,
    "MASKING POLICY": 3,
}
#: The privileges a mesh plan grants (a closed list: privileges are written into SQL as words).
_PRIVILEGES: Final = frozenset(
    {"USAGE", "SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "OPERATE", "MONITOR"}
)


def _s(sql: str, params: dict[str, ParamValue] | None = None) -> Statement:
    return Statement(sql, params or {})


@dataclass(frozen=True)
class Object:
    """A securable object: its kind and its canonical name parts (``("SALES", "ORDERS_V1")``)."""

    kind: ObjectKind
    name: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.name) != _NAME_PARTS[self.kind]:
            raise ValueError(f"a {self.kind} is named by {_NAME_PARTS[self.kind]} part(s), got {self.name!r}")
        qualified_name(*self.name)  # refuses an unsafe part before any SQL exists

    @property
    def qualified(self) -> str:
        return qualified_name(*self.name)

    @property
    def dotted(self) -> str:
        """The name as Snowflake's functions take it in a string: ``DB.SCHEMA.NAME``."""
        return ".".join(self.name)

    def __str__(self) -> str:
        return f"{self.kind} {self.qualified}"


@dataclass(frozen=True)
class AllIn:
    """Every existing object of a kind in a schema (``ALL VIEWS IN SCHEMA …``)."""

    kind: Literal["TABLES", "VIEWS"]
    schema: tuple[str, str]

    def __str__(self) -> str:
        return f"ALL {self.kind} IN SCHEMA {qualified_name(*self.schema)}"


@dataclass(frozen=True)
class FutureIn:
    """Every object of a kind created in a schema from now on (``FUTURE VIEWS IN SCHEMA …``)."""

    kind: Literal["TABLES", "VIEWS"]
    schema: tuple[str, str]

    def __str__(self) -> str:
        return f"FUTURE {self.kind} IN SCHEMA {qualified_name(*self.schema)}"


Target: TypeAlias = Object | AllIn | FutureIn


def _privileges(privileges: tuple[str, ...]) -> str:
    unknown = [p for p in privileges if p not in _PRIVILEGES]
    if not privileges or unknown:
        raise ValueError(f"privileges must be some of {sorted(_PRIVILEGES)}, got {privileges!r}")
    return ", ".join(privileges)


# -- access ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Grant:
    """``to_role`` holds ``privileges`` on ``on``."""

    privileges: tuple[str, ...]
    on: Target
    to_role: str

    def statement(self) -> Statement:
        return _s(
            f"GRANT {_privileges(self.privileges)} ON {self.on} TO ROLE {quote_identifier(self.to_role)}"
        )


@dataclass(frozen=True)
class Revoke:
    """``from_role`` no longer holds ``privileges`` on ``on`` (fails if the role or object is gone)."""

    privileges: tuple[str, ...]
    on: Target
    from_role: str

    def statement(self) -> Statement:
        return _s(
            f"REVOKE {_privileges(self.privileges)} ON {self.on} FROM ROLE {quote_identifier(self.from_role)}"
        )


@dataclass(frozen=True)
class GrantRole:
    """``role`` is granted to ``to_role``: ``to_role`` inherits what ``role`` holds."""

    role: str
    to_role: str

    def statement(self) -> Statement:
        return _s(f"GRANT ROLE {quote_identifier(self.role)} TO ROLE {quote_identifier(self.to_role)}")


@dataclass(frozen=True)
class RevokeRole:
    """``from_role`` (or the user ``from_role``) no longer holds ``role``."""

    role: str
    from_role: str
    grantee_kind: Literal["ROLE", "USER"] = "ROLE"

    def statement(self) -> Statement:
        grantee = f"{self.grantee_kind} {quote_identifier(self.from_role)}"
        return _s(f"REVOKE ROLE {quote_identifier(self.role)} FROM {grantee}")


@dataclass(frozen=True)
class Ownership:
    """``role`` owns ``on``; the grants others hold on it are kept (``COPY CURRENT GRANTS``)."""

    on: Object
    role: str

    def statement(self) -> Statement:
        return _s(f"GRANT OWNERSHIP ON {self.on} TO ROLE {quote_identifier(self.role)} COPY CURRENT GRANTS")


# -- secure shares ---------------------------------------------------------------------------------
# https://docs.snowflake.com/en/sql-reference/sql/grant-privilege-share : a share holds USAGE on one
# database only, SELECT on a view only if the view is secure, and (unlike a role) takes no
# ``ALL VIEWS IN SCHEMA``: each view is granted by name.
_SHARE_PRIVILEGES: Final[dict[str, frozenset[str]]] = {
    "DATABASE": frozenset({"USAGE"}),
    "SCHEMA": frozenset({"USAGE"}),
    "VIEW": frozenset({"SELECT"}),
}


@dataclass(frozen=True)
class Share:
    """A secure share exists (one per product version offered to outside accounts)."""

    name: str
    comment: str

    def statement(self) -> Statement:
        return _s(
            f"CREATE SHARE IF NOT EXISTS {quote_identifier(self.name)} COMMENT = %(comment)s",
            {"comment": self.comment},
        )


@dataclass(frozen=True)
class ShareGrant:
    """``share`` holds ``privilege`` on ``on``: USAGE on a database or schema, SELECT on a secure view."""

    privilege: Literal["USAGE", "SELECT"]
    on: Object
    share: str

    def __post_init__(self) -> None:
        if self.privilege not in _SHARE_PRIVILEGES.get(self.on.kind, frozenset()):
            raise ValueError(f"a share cannot hold {self.privilege} on a {self.on.kind}")

    def statement(self) -> Statement:
        return _s(f"GRANT {self.privilege} ON {self.on} TO SHARE {quote_identifier(self.share)}")


@dataclass(frozen=True)
class ShareAccounts:
    """Outside accounts are added to or removed from a share; either is a no-op when already so
    (https://docs.snowflake.com/en/sql-reference/sql/alter-share)."""

    share: str
    change: Literal["ADD", "REMOVE"]
    accounts: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.change not in ("ADD", "REMOVE") or not self.accounts:
            raise ValueError("a share's accounts change by ADD or REMOVE of at least one account")
        for account in self.accounts:
            canonical_account(account)

    def statement(self) -> Statement:
        accounts = ", ".join(canonical_account(a) for a in self.accounts)
        # Removing from a share that was never made (nothing was ever shared) is not an error.
        if_exists = "IF EXISTS " if self.change == "REMOVE" else ""
        return _s(
            f"ALTER SHARE {if_exists}{quote_identifier(self.share)} {self.change} ACCOUNTS = {accounts}"
        )


# -- objects ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Role:
    name: str
    comment: str

    def statement(self) -> Statement:
        return _s(
            f"CREATE ROLE IF NOT EXISTS {quote_identifier(self.name)} COMMENT = %(comment)s",
            {"comment": self.comment},
        )


@dataclass(frozen=True)
class DropRole:
    """The role is gone, and with it every grant it held and every grant of it."""

    name: str

    def statement(self) -> Statement:
        return _s(f"DROP ROLE IF EXISTS {quote_identifier(self.name)}")


@dataclass(frozen=True)
class Database:
    name: str

    def statement(self) -> Statement:
        return _s(f"CREATE DATABASE IF NOT EXISTS {quote_identifier(self.name)}")


@dataclass(frozen=True)
class Schema:
    name: tuple[str, str]
    managed_access: bool = True

    def statement(self) -> Statement:
        managed = " WITH MANAGED ACCESS" if self.managed_access else ""
        return _s(f"CREATE SCHEMA IF NOT EXISTS {qualified_name(*self.name)}{managed}")


@dataclass(frozen=True)
class Warehouse:
    """A warehouse created suspended, so creating it never starts it (nor bills)."""

    name: str
    size: str
    auto_suspend_seconds: int
    comment: str

    def statement(self) -> Statement:
        return _s(
            f"CREATE WAREHOUSE IF NOT EXISTS {quote_identifier(self.name)} WAREHOUSE_SIZE = %(size)s "
            "AUTO_SUSPEND = %(auto_suspend)s AUTO_RESUME = TRUE INITIALLY_SUSPENDED = TRUE "
            "COMMENT = %(comment)s",
            {"size": self.size, "auto_suspend": self.auto_suspend_seconds, "comment": self.comment},
        )


@dataclass(frozen=True)
class Tag:
    name: tuple[str, str, str]
    comment: str
    allowed_values: tuple[str, ...] | None = None

    def statement(self) -> Statement:
        params: dict[str, ParamValue] = {"comment": self.comment}
        allowed = ""
        if self.allowed_values is not None:
            names = [f"v{i}" for i in range(len(self.allowed_values))]
            allowed = " ALLOWED_VALUES " + ", ".join(f"%({n})s" for n in names)
            params.update(zip(names, self.allowed_values, strict=True))
        return _s(
            f"CREATE TAG IF NOT EXISTS {qualified_name(*self.name)}{allowed} COMMENT = %(comment)s", params
        )


@dataclass(frozen=True)
class MaskingPolicy:
    """A masking policy over values of ``signature``; ``body`` is a template, its values in ``params``."""

    name: tuple[str, str, str]
    signature: str
    body: str
    params: tuple[tuple[str, ParamValue], ...]
    comment: str

    def statement(self) -> Statement:
        return _s(
            f"CREATE MASKING POLICY IF NOT EXISTS {qualified_name(*self.name)} AS (VAL {self.signature}) "
            f"RETURNS {self.signature} -> {self.body} COMMENT = %(comment)s",
            {**dict(self.params), "comment": self.comment},
        )


@dataclass(frozen=True)
class MaskingPolicyBody:
    """The policy's body is this one (for a policy that may have been made with another)."""

    name: tuple[str, str, str]
    body: str
    params: tuple[tuple[str, ParamValue], ...]

    def statement(self) -> Statement:
        return _s(
            f"ALTER MASKING POLICY {qualified_name(*self.name)} SET BODY -> {self.body}", dict(self.params)
        )


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str
    not_null: bool = False

    def sql(self) -> str:
        return f"{quote_identifier(self.name)} {self.sql_type}" + (" NOT NULL" if self.not_null else "")


@dataclass(frozen=True)
class Table:
    name: tuple[str, str, str]
    columns: tuple[Column, ...]

    def statement(self) -> Statement:
        columns = ", ".join(column.sql() for column in self.columns)
        return _s(f"CREATE TABLE IF NOT EXISTS {qualified_name(*self.name)} ({columns})")


@dataclass(frozen=True)
class AddColumn:
    table: tuple[str, str, str]
    column: Column

    def statement(self) -> Statement:
        return _s(f"ALTER TABLE {qualified_name(*self.table)} ADD COLUMN IF NOT EXISTS {self.column.sql()}")


@dataclass(frozen=True)
class SecureView:
    """A secure view of some columns of a table; ``replace`` re-creates it keeping its grants."""

    name: tuple[str, str, str]
    columns: tuple[str, ...]
    table: tuple[str, str, str]
    replace: bool = False

    def statement(self) -> Statement:
        select = ", ".join(quote_identifier(c) for c in self.columns)
        source, view = qualified_name(*self.table), qualified_name(*self.name)
        if self.replace:
            # COPY GRANTS keeps the readers' SELECT on the replaced view
            # (https://docs.snowflake.com/en/sql-reference/sql/create-view , COPY GRANTS).
            return _s(f"CREATE OR REPLACE SECURE VIEW {view} COPY GRANTS AS SELECT {select} FROM {source}")
        return _s(f"CREATE SECURE VIEW IF NOT EXISTS {view} AS SELECT {select} FROM {source}")


# -- metadata --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Comment:
    """The object's COMMENT (``column``: the COMMENT of that column of a table)."""

    on: Object
    text: str
    column: str | None = None

    def statement(self) -> Statement:
        params: dict[str, ParamValue] = {"comment": self.text}
        if self.column is not None:
            if self.on.kind != "TABLE":
                raise ValueError("column comments are on tables")
            return _s(
                f"COMMENT ON COLUMN {self.on.qualified}.{quote_identifier(self.column)} IS %(comment)s",
                params,
            )
        if self.on.kind in ("DATABASE", "WAREHOUSE"):
            return _s(f"ALTER {self.on} SET COMMENT = %(comment)s", params)
        return _s(f"COMMENT ON {self.on} IS %(comment)s", params)


@dataclass(frozen=True)
class TagValues:
    """``on`` (or its ``column``) carries these tags with these values.

    Each value is bound under the tag's own name in lower case (``%(domain)s`` for ``…DOMAIN``).
    ``if_exists``: nothing happens when the object is gone (schemas only, as Snowflake allows).
    """

    on: Object
    values: tuple[tuple[tuple[str, str, str], str], ...]
    column: str | None = None
    if_exists: bool = False

    def statement(self) -> Statement:
        params: dict[str, ParamValue] = {}
        settings = []
        for tag, value in self.values:
            key = tag[2].lower()
            if key in params:
                raise ValueError(f"tag {tag[2]} is set twice")
            params[key] = value
            settings.append(f"{qualified_name(*tag)} = %({key})s")
        assignments = ", ".join(settings)
        if self.column is not None:
            if self.on.kind != "TABLE" or self.if_exists:
                raise ValueError("column tags are on tables, without IF EXISTS")
            column = quote_identifier(self.column)
            return _s(f"ALTER TABLE {self.on.qualified} MODIFY COLUMN {column} SET TAG {assignments}", params)
        if self.if_exists and self.on.kind != "SCHEMA":
            raise ValueError("IF EXISTS is for schemas")
        exists = " IF EXISTS" if self.if_exists else ""
        return _s(f"ALTER {self.on.kind}{exists} {self.on.qualified} SET TAG {assignments}", params)


@dataclass(frozen=True)
class TagMaskingPolicies:
    """The tag carries these masking policies (one per data type), replacing any it had (``FORCE``)."""

    tag: tuple[str, str, str]
    policies: tuple[tuple[str, str, str], ...]

    def statement(self) -> Statement:
        policies = ", ".join(f"MASKING POLICY {qualified_name(*p)}" for p in self.policies)
        return _s(f"ALTER TAG {qualified_name(*self.tag)} SET {policies} FORCE")


#: Everything a plan may want; each compiles to one statement.
Intent: TypeAlias = (
    Grant
    | Revoke
    | GrantRole
    | RevokeRole
    | Ownership
    | Role
    | DropRole
    | Database
    | Schema
    | Warehouse
    | Tag
    | MaskingPolicy
    | MaskingPolicyBody
    | Table
    | AddColumn
    | SecureView
    | Comment
    | TagValues
    | TagMaskingPolicies
    | Share
    | ShareGrant
    | ShareAccounts
)
