"""Databases and schemas, which carry account-model settings fakesnow does not know (owner,
comment, managed access), and the SHOW commands for databases, schemas, tables and views.

A new database gets a PUBLIC schema, as in Snowflake
(https://docs.snowflake.com/en/sql-reference/sql/create-database).
"""

from __future__ import annotations

from collections.abc import Callable

from snowlocal import sqlpath
from snowlocal.account import DATABASE, SCHEMA, TABLE, VIEW, ObjectRef, SecurableObject
from snowlocal.alter import alter_form
from snowlocal.engine import Context
from snowlocal.errors import (
    does_not_exist_or_not_authorized,
    insufficient_privileges,
    not_supported,
)
from snowlocal.registry import handles
from snowlocal.results import ResultSet, already_exists_status, columns, like_filter, status
from snowlocal.tokens import TokenCursor


def _quoted(ref: ObjectRef) -> str:
    return ".".join('"' + p.replace('"', '""') + '"' for p in ref.name)


def _options(cursor: TokenCursor, allowed: set[str]) -> dict[str, object]:
    """`KEY = value` pairs; COMMENT and those in `allowed` are kept, others refused."""
    options: dict[str, object] = {}
    while not cursor.at_end():
        if cursor.accept("WITH", "MANAGED", "ACCESS"):
            options["managed_access"] = True
            continue
        if cursor.peek("WITH") or cursor.peek("TAG"):
            raise not_supported("tags in CREATE; use ALTER ... SET TAG")
        key = cursor.expect_word()
        cursor.equals()
        value = cursor.value()
        if key == "COMMENT":
            options["comment"] = value
        elif key in allowed:
            options[key.lower()] = value
        else:
            raise not_supported(f"the {key} option")
    return options


_RETENTION = {"DATA_RETENTION_TIME_IN_DAYS", "MAX_DATA_EXTENSION_TIME_IN_DAYS", "DEFAULT_DDL_COLLATION"}


@handles("CREATE", "DATABASE")
def create_database(ctx: Context, cursor: TokenCursor) -> ResultSet:
    cursor.expect("CREATE")
    replace = cursor.accept("OR", "REPLACE")
    cursor.accept("TRANSIENT")
    cursor.expect("DATABASE")
    if_not_exists = cursor.accept("IF", "NOT", "EXISTS")
    name = cursor.name_part()
    options = _options(cursor, _RETENTION)
    ref = ObjectRef(DATABASE, (name,))
    check = ctx.check_create(ref, "CREATE DATABASE", if_not_exists=if_not_exists, replace=replace)
    if check.skip:
        return already_exists_status(name)
    if check.existing is not None:
        sqlpath.detach(ctx, name)
        ctx.account.remove_object(ref)
    sqlpath.execute_in_fakesnow(ctx, f"CREATE DATABASE {_quoted(ref)}", None)
    ctx.account.add_object(ref, owner=ctx.role, comment=_str(options.get("comment")))
    public = ObjectRef(SCHEMA, (name, "PUBLIC"))
    sqlpath.execute_in_fakesnow(ctx, f"CREATE SCHEMA IF NOT EXISTS {_quoted(public)}", None)
    ctx.account.add_object(public, owner=ctx.role)
    ctx.mark_changed()
    # Creating a database makes it the session's current database, with PUBLIC as schema.
    sqlpath.use(ctx, SCHEMA, _quoted(public))
    return status(f"Database {name} successfully created.")


@handles("DROP", "DATABASE")
def drop_database(ctx: Context, cursor: TokenCursor) -> ResultSet:
    cursor.expect("DROP", "DATABASE")
    if_exists = cursor.accept("IF", "EXISTS")
    name = cursor.name_part()
    cursor.accept("CASCADE") or cursor.accept("RESTRICT")
    cursor.expect_end()
    ref = ObjectRef(DATABASE, (name,))
    if ctx.account.get(ref) is None:
        if if_exists:
            return status("Drop statement executed successfully (object does not exist).")
        raise does_not_exist_or_not_authorized("Database", name)
    ctx.require_ownership(ref)
    sqlpath.detach(ctx, name)
    ctx.account.remove_object(ref)
    ctx.mark_changed()
    return status(f"{name} successfully dropped.")


@handles("CREATE", "SCHEMA")
def create_schema(ctx: Context, cursor: TokenCursor) -> ResultSet:
    # https://docs.snowflake.com/en/sql-reference/sql/create-schema
    cursor.expect("CREATE")
    replace = cursor.accept("OR", "REPLACE")
    cursor.accept("TRANSIENT")
    cursor.expect("SCHEMA")
    if_not_exists = cursor.accept("IF", "NOT", "EXISTS")
    ref = ctx.ref(SCHEMA, cursor.qualified_name())
    options = _options(cursor, _RETENTION)
    check = ctx.check_create(ref, "CREATE SCHEMA", if_not_exists=if_not_exists, replace=replace)
    if check.skip:
        return already_exists_status(ref.leaf)
    if check.existing is not None:
        sqlpath.execute_in_fakesnow(ctx, f"DROP SCHEMA {_quoted(ref)} CASCADE", None)
        ctx.account.remove_object(ref)
    sqlpath.execute_in_fakesnow(ctx, f"CREATE SCHEMA {_quoted(ref)}", None)
    ctx.account.add_object(
        ref,
        owner=ctx.role,
        comment=_str(options.get("comment")),
        managed_access=bool(options.get("managed_access")),
    )
    sqlpath.apply_future_grants(ctx, ref)
    ctx.mark_changed()
    sqlpath.use(ctx, SCHEMA, _quoted(ref))
    return status(f"Schema {ref.leaf} successfully created.")


@alter_form("SCHEMA")
def alter_schema(ctx: Context, cursor: TokenCursor) -> ResultSet | None:
    # https://docs.snowflake.com/en/sql-reference/sql/alter-schema : managed access
    if not (cursor.contains_words("MANAGED", "ACCESS")):
        return None  # tags and comments are handled by their own module, or refused by sqlpath
    cursor.expect("ALTER", "SCHEMA")
    cursor.accept("IF", "EXISTS")
    ref = ctx.ref(SCHEMA, cursor.qualified_name())
    enable = cursor.accept("ENABLE")
    if not enable:
        cursor.expect("DISABLE")
    cursor.expect("MANAGED", "ACCESS")
    cursor.expect_end()
    ctx.require_object(ref)
    if not (ctx.has("OWNERSHIP", ref) or ctx.has("MANAGE GRANTS", ObjectRef("ACCOUNT", ()))):
        raise insufficient_privileges(f"operate on schema '{ref.leaf}'")
    ctx.account.objects[ref].properties["managed_access"] = enable
    ctx.mark_changed()
    return status("Statement executed successfully.")


def _str(value: object) -> str | None:
    return None if value is None else str(value)


# -- SHOW ---------------------------------------------------------------------------------------
def show_scope(ctx: Context, cursor: TokenCursor, default: str) -> tuple[str, ObjectRef | None]:
    """`IN ACCOUNT | IN DATABASE d | IN SCHEMA s`, defaulting to the session's context."""
    if cursor.accept("IN"):
        if cursor.accept("ACCOUNT"):
            return "ACCOUNT", None
        if cursor.accept("DATABASE"):
            ref = ctx.ref(DATABASE, cursor.qualified_name())
        elif cursor.accept("SCHEMA"):
            ref = ctx.ref(SCHEMA, cursor.qualified_name())
        else:
            parts = cursor.qualified_name()
            ref = ctx.ref(SCHEMA if len(parts) == 2 else DATABASE, parts)
        ctx.require_object(ref)
        return ref.kind, ref
    if default == DATABASE:
        if ctx.session.database is None:
            return "ACCOUNT", None
        return DATABASE, ObjectRef(DATABASE, (ctx.session.database,))
    if ctx.session.database is None:
        return "ACCOUNT", None
    if ctx.session.schema is None:
        return DATABASE, ObjectRef(DATABASE, (ctx.session.database,))
    return SCHEMA, ObjectRef(SCHEMA, (ctx.session.database, ctx.session.schema))


def _like(cursor: TokenCursor) -> Callable[[str], bool]:
    return like_filter(cursor.string() if cursor.accept("LIKE") else None)


def _within(ref: ObjectRef, scope: ObjectRef | None) -> bool:
    return scope is None or ref.name[: len(scope.name)] == scope.name


def shown(
    ctx: Context,
    kind: str,
    scope: ObjectRef | None,
    match: Callable[[str], bool],
    visible: Callable[[SecurableObject], bool] | None = None,
) -> list[SecurableObject]:
    """What a SHOW of `kind` lists: in scope, matching LIKE, visible to the session's roles, by name.

    SHOW lists only objects the role holds some privilege on
    (https://docs.snowflake.com/en/sql-reference/sql/show).
    """
    seen = visible or (lambda o: ctx.can_see(o.ref))
    return [
        o
        for o in sorted(ctx.account.of_kind(kind), key=lambda o: o.ref.name)
        if _within(o.ref, scope) and match(o.ref.leaf) and seen(o)
    ]


@handles("SHOW", "DATABASES")
def show_databases(ctx: Context, cursor: TokenCursor) -> ResultSet:
    # https://docs.snowflake.com/en/sql-reference/sql/show-databases
    cursor.expect("SHOW", "DATABASES")
    match = _like(cursor)
    cursor.expect_end()
    cols = columns(
        "created_on:timestamp_ltz",
        "name",
        "is_default",
        "is_current",
        "origin",
        "owner",
        "comment",
        "options",
        "retention_time",
        "kind",
        "owner_role_type",
    )
    rows = [
        (
            o.created_on,
            o.ref.leaf,
            "N",
            "Y" if o.ref.leaf == ctx.session.database else "N",
            "",
            ctx.account.owner(o.ref) or "",
            o.comment or "",
            "",
            "1",
            "STANDARD",
            "ROLE",
        )
        for o in shown(ctx, DATABASE, None, match)
    ]
    return ResultSet(cols, rows)


@handles("SHOW", "SCHEMAS")
def show_schemas(ctx: Context, cursor: TokenCursor) -> ResultSet:
    # https://docs.snowflake.com/en/sql-reference/sql/show-schemas
    cursor.expect("SHOW", "SCHEMAS")
    match = _like(cursor)
    _, scope = show_scope(ctx, cursor, DATABASE)
    cursor.expect_end()
    cols = columns(
        "created_on:timestamp_ltz",
        "name",
        "is_default",
        "is_current",
        "database_name",
        "owner",
        "comment",
        "options",
        "retention_time",
        "owner_role_type",
    )
    current = (ctx.session.database, ctx.session.schema)
    rows = [
        (
            o.created_on,
            o.ref.leaf,
            "N",
            "Y" if o.ref.name == current else "N",
            o.ref.name[0],
            ctx.account.owner(o.ref) or "",
            o.comment or "",
            "MANAGED ACCESS" if o.properties.get("managed_access") else "",
            "1",
            "ROLE",
        )
        for o in shown(ctx, SCHEMA, scope, match)
    ]
    return ResultSet(cols, rows)


@handles("SHOW", "TABLES")
def show_tables(ctx: Context, cursor: TokenCursor) -> ResultSet:
    # https://docs.snowflake.com/en/sql-reference/sql/show-tables
    cursor.expect("SHOW")
    cursor.accept("TERSE")
    cursor.expect("TABLES")
    match = _like(cursor)
    _, scope = show_scope(ctx, cursor, SCHEMA)
    cursor.expect_end()
    cols = columns(
        "created_on:timestamp_ltz",
        "name",
        "database_name",
        "schema_name",
        "kind",
        "comment",
        "cluster_by",
        "rows:fixed",
        "bytes:fixed",
        "owner",
        "retention_time",
        "owner_role_type",
    )
    rows = [
        (
            o.created_on,
            o.ref.leaf,
            o.ref.name[0],
            o.ref.name[1],
            "TABLE",
            o.comment or "",
            "",
            None,
            None,
            ctx.account.owner(o.ref) or "",
            "1",
            "ROLE",
        )
        for o in shown(ctx, TABLE, scope, match)
    ]
    return ResultSet(cols, rows)


@handles("SHOW", "VIEWS")
def show_views(ctx: Context, cursor: TokenCursor) -> ResultSet:
    # https://docs.snowflake.com/en/sql-reference/sql/show-views : a secure view's text is shown
    # to its owner only.
    cursor.expect("SHOW")
    cursor.accept("TERSE")
    cursor.expect("VIEWS")
    match = _like(cursor)
    _, scope = show_scope(ctx, cursor, SCHEMA)
    cursor.expect_end()
    cols = columns(
        "created_on:timestamp_ltz",
        "name",
        "reserved",
        "database_name",
        "schema_name",
        "owner",
        "comment",
        "text",
        "is_secure",
        "is_materialized",
        "owner_role_type",
        "change_tracking",
    )
    rows = []
    for o in shown(ctx, VIEW, scope, match):
        secure = bool(o.properties.get("is_secure"))
        text = o.properties.get("text", "") if not secure or ctx.has("OWNERSHIP", o.ref) else ""
        rows.append(
            (
                o.created_on,
                o.ref.leaf,
                "",
                o.ref.name[0],
                o.ref.name[1],
                ctx.account.owner(o.ref) or "",
                o.comment or "",
                text,
                str(secure).lower(),
                "false",
                "ROLE",
                "OFF",
            )
        )
    return ResultSet(cols, rows)
