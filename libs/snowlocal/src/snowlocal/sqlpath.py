"""Statements fakesnow runs, with Snowflake's access control around them.

Before a statement reaches fakesnow its object references are resolved and checked against the
session's roles; after it succeeds, what it created, renamed or dropped is recorded in the
account model (owner = the session's role, plus matching future grants). Checks never change
state, so a statement that fails has had no effect in the account model; the DuckDB side runs
in a transaction where DuckDB allows one.

Required privileges: https://docs.snowflake.com/en/user-guide/security-access-control-privileges
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import snowflake.connector.errors
from fakesnow import statement_type
from fakesnow.dialect import parse_one
from sqlglot import exp
from sqlglot.errors import ParseError

from snowlocal import catalog
from snowlocal.account import DATABASE, SCHEMA, TABLE, VIEW, ObjectRef
from snowlocal.engine import Context, FakesnowResult
from snowlocal.errors import (
    SnowflakeError,
    already_exists,
    does_not_exist_or_not_authorized,
    not_supported,
    object_does_not_exist_for_use,
    syntax_error,
)
from snowlocal.results import ResultSet, already_exists_status, status

# Functions answered from the session before fakesnow sees the statement. Other modules add to
# it (tags: SYSTEM$GET_TAG); each returns the literal that replaces the call.
FunctionRewriter = Callable[[Context, exp.Func], exp.Expr]
FUNCTION_REWRITERS: dict[str, FunctionRewriter] = {}
# Rewrites of the whole statement after the checks (masking); each returns the new expression.
StatementRewriter = Callable[[Context, exp.Expr], exp.Expr]
STATEMENT_REWRITERS: list[StatementRewriter] = []
# Called when a statement reads or writes table data, to check the warehouse (warehouses module).
COMPUTE_CHECKS: list[Callable[[Context], None]] = []

_QUERY_TYPES = (exp.Select, exp.Union, exp.Intersect, exp.Except, exp.Subquery, exp.Values)
_PASSTHROUGH_TYPES = (
    exp.Transaction,
    exp.Commit,
    exp.Rollback,
    exp.Set,
    exp.Describe,
)


def function_name(node: exp.Func) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.name).upper()
    return type(node).__name__.upper()


def _rewrite_functions(ctx: Context, tree: exp.Expr) -> exp.Expr:
    if not FUNCTION_REWRITERS:
        return tree

    def swap(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Func):
            rewriter = FUNCTION_REWRITERS.get(function_name(node))
            if rewriter is not None:
                return rewriter(ctx, node)
        return node

    return tree.transform(swap, copy=False)


def table_parts(table: exp.Table) -> tuple[str, ...] | None:
    """A table reference's name parts as Snowflake normalises them, or None for a function."""
    if not isinstance(table.this, exp.Identifier):
        return None
    parts = [p for p in (table.args.get("catalog"), table.args.get("db"), table.this) if p is not None]
    out = []
    for part in parts:
        if not isinstance(part, exp.Identifier):
            return None
        out.append(part.this if part.quoted else part.this.upper())
    return tuple(out)


def referenced_relations(ctx: Context, tree: exp.Expr, skip: exp.Table | None = None) -> list[ObjectRef]:
    """Tables and views a statement reads, CTE names and INFORMATION_SCHEMA excluded."""
    ctes = {cte.alias_or_name.upper() for cte in tree.find_all(exp.CTE)}
    refs: list[ObjectRef] = []
    for table in tree.find_all(exp.Table):
        if table is skip:
            continue
        parts = table_parts(table)
        if parts is None or (len(parts) == 1 and parts[0].upper() in ctes):
            continue
        if len(parts) >= 2 and parts[-2].upper() == "INFORMATION_SCHEMA":
            # Snowflake filters INFORMATION_SCHEMA by privilege; snowlocal asks only USAGE on the
            # database (fakesnow's views show every object).
            if len(parts) == 3:
                ctx.require_path(ObjectRef(SCHEMA, (*parts[:1], "INFORMATION_SCHEMA")))
            continue
        refs.append(ctx.find_relation(parts))
    return refs


def require_select(ctx: Context, refs: list[ObjectRef]) -> None:
    for ref in refs:
        ctx.require_object(ref)
        if not ctx.has("SELECT", ref):
            # Seeing an object without SELECT on it still reads as "not authorized".
            raise does_not_exist_or_not_authorized("Object", ref.display())


def require_compute(ctx: Context) -> None:
    for check in COMPUTE_CHECKS:
        check(ctx)


def run(ctx: Context, text: str, params: Any) -> ResultSet | FakesnowResult:
    try:
        tree = parse_one(text)
    except ParseError as exc:
        raise syntax_error(str(exc).splitlines()[0]) from None
    except snowflake.connector.errors.ProgrammingError as exc:  # fakesnow's own syntax error
        raise SnowflakeError(exc.errno or 1003, exc.sqlstate or "42000", exc.msg or str(exc)) from None
    type_id = statement_type.statement_type_id(tree)
    tree = _rewrite_functions(ctx, tree)
    after: Callable[[], None] | None = None

    if isinstance(tree, _QUERY_TYPES):
        refs = referenced_relations(ctx, tree)
        require_select(ctx, refs)
        if refs:
            require_compute(ctx)
    elif isinstance(tree, (exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.TruncateTable)):
        _check_dml(ctx, tree)
    elif isinstance(tree, exp.Create):
        after = _check_create(ctx, tree, text)
        if after is None:
            return already_exists_status(_created_name(tree))
    elif isinstance(tree, exp.Drop):
        after = _check_drop(ctx, tree)
        if after is None:
            return status("Drop statement executed successfully (object does not exist).")
    elif isinstance(tree, exp.Alter):
        after = _check_alter(ctx, tree)
    elif isinstance(tree, exp.Use):
        kind = str(tree.args.get("kind") or "").upper() or DATABASE
        use(ctx, kind, tree.this.sql(dialect="snowflake") if tree.this else "")
        return status("Statement executed successfully.")
    elif isinstance(tree, exp.Show):
        pass  # SHOWs snowlocal owns are registered handlers; the rest (COLUMNS, PARAMETERS) read metadata
    elif isinstance(tree, _PASSTHROUGH_TYPES):
        pass
    else:
        raise not_supported(f"'{_head(text)}'")

    for rewrite in STATEMENT_REWRITERS:
        tree = rewrite(ctx, tree)
    sql = tree.sql(dialect="snowflake")
    dml = isinstance(tree, (exp.Insert, exp.Update, exp.Delete, exp.Merge))
    result = execute_in_fakesnow(ctx, sql, params, transactional=dml, type_id=type_id)
    if after is not None:
        after()
        ctx.mark_changed()
    return result


def _head(text: str) -> str:
    head = " ".join(text.split()[:4])
    return head if len(head) < 80 else head[:77] + "..."


def execute_in_fakesnow(
    ctx: Context, sql: str, params: Any, transactional: bool = False, type_id: int = statement_type.DDL
) -> FakesnowResult:
    conn = ctx.session.conn
    cur = conn.cursor()
    # A DML statement fakesnow splits into several DuckDB statements (MERGE, INSERT OVERWRITE)
    # must not half-apply: run it in a transaction unless the client has one open. DDL is left
    # alone: fakesnow's DDL also writes its global catalog, and one DuckDB transaction may write
    # only one attached database.
    wrap = transactional and not conn._in_transaction
    duck = conn._duck_conn
    if wrap:
        duck.execute("BEGIN TRANSACTION")
    try:
        cur.execute(sql, binding_params=params, server=True)
    except (snowflake.connector.errors.ProgrammingError, snowflake.connector.errors.OperationalError) as exc:
        if wrap:
            duck.execute("ROLLBACK")
        raise SnowflakeError(exc.errno or 2, exc.sqlstate or "42000", exc.msg or str(exc)) from None
    except Exception as exc:
        if wrap:
            duck.execute("ROLLBACK")
        # fakesnow or DuckDB could not do it: report a Snowflake-shaped failure, never an HTTP 500.
        raise not_supported(
            f"this statement ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})"
        ) from None
    if wrap:
        duck.execute("COMMIT")
    return FakesnowResult(cur, sql, type_id)


# -- data manipulation -------------------------------------------------------------------------
_DML_PRIVILEGE: dict[type[exp.Expr], str] = {
    exp.Insert: "INSERT",
    exp.Update: "UPDATE",
    exp.Delete: "DELETE",
    exp.TruncateTable: "TRUNCATE",
}


def _target_table(tree: exp.Expr) -> exp.Table | None:
    target = tree.this
    if isinstance(tree, exp.TruncateTable):
        target = tree.expressions[0] if tree.expressions else None
    if isinstance(target, exp.Schema):
        target = target.this
    return target if isinstance(target, exp.Table) else None


def _check_dml(ctx: Context, tree: exp.Expr) -> None:
    target = _target_table(tree)
    if target is None or (parts := table_parts(target)) is None:
        raise not_supported("this statement's target")
    ref = ctx.find_relation(parts)
    if ref.kind == VIEW:
        raise SnowflakeError(
            2028, "42601", f"SQL compilation error:\n'{ref.display()}' is a view; DML needs a table."
        )
    if isinstance(tree, exp.Merge):
        needed = set()
        for when in tree.find_all(exp.When):
            then = when.args.get("then")
            if isinstance(then, exp.Insert):
                needed.add("INSERT")
            elif isinstance(then, exp.Update):
                needed.add("UPDATE")
            else:
                needed.add("DELETE")
    else:
        needed = {_DML_PRIVILEGE[type(tree)]}
    ctx.require_object(ref)
    for privilege in sorted(needed):
        if not ctx.has(privilege, ref):
            raise (
                does_not_exist_or_not_authorized("Object", ref.display())
                if not ctx.can_see(ref)
                else SnowflakeError(
                    3001,
                    "42501",
                    f"SQL access control error:\nInsufficient privileges to operate on table '{ref.leaf}'",
                )
            )
    require_select(ctx, referenced_relations(ctx, tree, skip=target))
    require_compute(ctx)


# -- creating, dropping, altering ----------------------------------------------------------------
def _created_name(tree: exp.Create) -> str:
    target = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
    return str(target.name if isinstance(target, exp.Table) else target).upper()


def _create_target(ctx: Context, tree: exp.Create, kind: str) -> ObjectRef:
    target = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
    parts = table_parts(target) if isinstance(target, exp.Table) else None
    if parts is None:
        raise not_supported(f"this CREATE {kind}")
    return ctx.ref(kind, parts)


def _check_create(ctx: Context, tree: exp.Create, text: str) -> Callable[[], None] | None:
    """Checks a CREATE TABLE/VIEW; returns what to record once it ran, or None for a no-op."""
    kind = str(tree.args.get("kind") or "").upper()
    if kind not in (TABLE, VIEW):
        # CREATE DATABASE / SCHEMA / ROLE / ... are registered handlers; other kinds fakesnow
        # might accept (sequences, stages, functions) carry no access control here.
        raise not_supported(f"CREATE {kind}")
    ref = _create_target(ctx, tree, kind)
    schema = ref.schema()
    assert schema is not None
    ctx.require_object(schema)
    privilege = f"CREATE {kind}"
    if not ctx.has(privilege, schema):
        raise SnowflakeError(
            3001,
            "42501",
            f"SQL access control error:\nInsufficient privileges to operate on schema '{schema.leaf}'",
        )
    other = ObjectRef(VIEW if kind == TABLE else TABLE, ref.name)
    existing = ctx.account.get(ref) or ctx.account.get(other)
    replace = bool(tree.args.get("replace"))
    if existing is not None:
        if tree.args.get("exists"):
            return None
        if not replace or existing.ref.kind != kind:
            raise already_exists(kind, ref.display())
        ctx.require_ownership(existing.ref)
    query = tree.expression
    if query is not None:
        refs = referenced_relations(ctx, query)
        require_select(ctx, refs)
        if kind == TABLE and refs:
            require_compute(ctx)
    properties = tree.args.get("properties")
    props = properties.expressions if isinstance(properties, exp.Properties) else []
    comment = next((p.this.name for p in props if isinstance(p, exp.SchemaCommentProperty)), None)
    # CREATE OR REPLACE ... COPY GRANTS: the replacement keeps every privilege granted on the
    # replaced object except OWNERSHIP (the creating role owns it), and then receives no future
    # grants (https://docs.snowflake.com/en/sql-reference/sql/create-view , COPY GRANTS;
    # https://docs.snowflake.com/en/sql-reference/sql/create-table , COPY GRANTS).
    copy_grants = any(isinstance(p, exp.CopyGrantsProperty) for p in props)
    extra: dict[str, Any] = {}
    if kind == VIEW:
        extra["is_secure"] = any(isinstance(p, exp.SecureProperty) for p in props)
        extra["text"] = text.strip()
        extra["query"] = query.sql(dialect="snowflake") if query is not None else ""

    def record() -> None:
        copied = []
        if existing is not None:
            if copy_grants:
                copied = [g for g in ctx.account.grants_on(existing.ref) if g.privilege != "OWNERSHIP"]
            ctx.account.remove_object(existing.ref)
        ctx.account.add_object(ref, owner=ctx.role, comment=comment, **extra)
        if existing is not None and copy_grants:
            for g in copied:
                ctx.account.grant(g.privilege, ref, g.grantee, g.grant_option, granted_by=g.granted_by)
        else:
            apply_future_grants(ctx, ref)

    return record


def apply_future_grants(ctx: Context, ref: ObjectRef) -> None:
    """Give a new object the future grants of its schema, else of its database.

    Schema-level future grants take precedence over database-level ones for the same object
    type: https://docs.snowflake.com/en/sql-reference/sql/grant-privilege#future-grants
    """
    container = ref.schema() if ref.kind in (TABLE, VIEW) else None
    database = ref.database()
    candidates = []
    if container is not None:
        candidates = [
            f
            for f in ctx.account.future_grants.values()
            if f.container == container and f.object_kind == ref.kind
        ]
    if not candidates and database is not None:
        candidates = [
            f
            for f in ctx.account.future_grants.values()
            if f.container == database and f.object_kind == ref.kind
        ]
    for future in candidates:
        if future.privilege == "OWNERSHIP":
            ctx.account.set_owner(ref, future.grantee, granted_by=ctx.role)
        else:
            ctx.account.grant(future.privilege, ref, future.grantee, future.grant_option, granted_by=ctx.role)


def _check_drop(ctx: Context, tree: exp.Drop) -> Callable[[], None] | None:
    kind = str(tree.args.get("kind") or "").upper()
    if kind not in (DATABASE, SCHEMA, TABLE, VIEW):
        raise not_supported(f"DROP {kind}")
    # sqlglot keeps DROP TABLE's target in `tables`, other kinds' in `this`.
    targets = tree.args.get("tables") or [tree.this]
    if (
        len(targets) != 1
        or not isinstance(targets[0], exp.Table)
        or (parts := table_parts(targets[0])) is None
    ):
        raise not_supported(f"this DROP {kind}")
    ref = ctx.ref(kind, parts)
    if ctx.account.get(ref) is None and tree.args.get("exists"):
        return None
    ctx.require_ownership(ref)

    def record() -> None:
        ctx.account.remove_object(ref)

    return record


def _check_alter(ctx: Context, tree: exp.Alter) -> Callable[[], None] | None:
    kind = str(tree.args.get("kind") or "").upper()
    if kind not in (TABLE, VIEW):
        raise not_supported(f"ALTER {kind}")
    parts = table_parts(tree.this) if isinstance(tree.this, exp.Table) else None
    if parts is None:
        raise not_supported(f"this ALTER {kind}")
    ref = ctx.ref(kind, parts)
    ctx.require_ownership(ref)
    rename = next((a for a in tree.args.get("actions") or [] if isinstance(a, exp.AlterRename)), None)
    if rename is None:
        return None
    new_parts = table_parts(rename.this) if isinstance(rename.this, exp.Table) else None
    if new_parts is None:
        raise not_supported("this RENAME")
    new_ref = ctx.ref(kind, new_parts)
    if ctx.account.get(new_ref) is not None:
        raise already_exists(kind, new_ref.display())

    def record() -> None:
        ctx.account.rename_object(ref, new_ref)

    return record


# -- session context -------------------------------------------------------------------------------
def use(ctx: Context, kind: str, name: str) -> None:
    """USE DATABASE/SCHEMA/WAREHOUSE: needs a privilege on the object (and its database)."""
    from snowlocal.tokens import TokenCursor

    parts = TokenCursor(name).qualified_name()
    if kind == "WAREHOUSE":
        for hook in USE_WAREHOUSE:
            hook(ctx, parts[-1])
        return
    if kind == DATABASE:
        ref = ObjectRef(DATABASE, parts)
    elif kind == SCHEMA:
        ref = ObjectRef(SCHEMA, ctx.qualify(parts, 2))
    else:
        raise not_supported(f"USE {kind}")
    db = ref.database() or ref
    if ctx.account.get(db) is None or not ctx.can_see(db):
        raise object_does_not_exist_for_use()
    if ref.kind == SCHEMA and (ctx.account.get(ref) is None or not ctx.can_see(ref)):
        raise object_does_not_exist_for_use()
    quoted = ".".join('"' + p.replace('"', '""') + '"' for p in ref.name)
    execute_in_fakesnow(ctx, f"USE {kind} {quoted}", None)


USE_WAREHOUSE: list[Callable[[Context, str], None]] = []


def detach(ctx: Context, name: str) -> None:
    catalog.detach_database(ctx.engine, name)
