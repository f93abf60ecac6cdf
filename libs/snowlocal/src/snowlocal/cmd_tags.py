"""Object tagging and comments: the metadata the control plane keeps in Snowflake itself.

Tags: CREATE/ALTER/DROP/SHOW TAG, `ALTER <object> [MODIFY COLUMN c] SET|UNSET TAG`,
SYSTEM$GET_TAG and the INFORMATION_SCHEMA.TAG_REFERENCES[_ALL_COLUMNS] table functions, with
tag lineage (a column inherits its table's, schema's and database's tags; the nearest wins).
https://docs.snowflake.com/en/user-guide/object-tagging

Comments: `COMMENT ON`, `ALTER <object> SET|UNSET COMMENT` and column comments. The account
model holds them for SHOW; table and column comments are also written where fakesnow's
INFORMATION_SCHEMA.TABLES/COLUMNS read them.
https://docs.snowflake.com/en/sql-reference/sql/comment
"""

from __future__ import annotations

import json

from sqlglot import exp
from sqlglot.tokenizer_core import TokenType

from snowlocal import sqlpath
from snowlocal.account import (
    ACCOUNT_REF,
    DATABASE,
    ROLE,
    SCHEMA,
    TABLE,
    TAG,
    VIEW,
    WAREHOUSE,
    ObjectRef,
    SecurableObject,
    TagTarget,
)
from snowlocal.alter import alter_form
from snowlocal.cmd_objects import show_scope, shown
from snowlocal.engine import Context
from snowlocal.errors import (
    SnowflakeError,
    already_exists,
    does_not_exist_or_not_authorized,
    insufficient_privileges,
    invalid_value,
    not_supported,
)
from snowlocal.registry import handles
from snowlocal.results import ResultSet, already_exists_status, columns, like_filter, status
from snowlocal.tokens import TokenCursor

_LABEL = {DATABASE: "Database", SCHEMA: "Schema", TAG: "Tag", WAREHOUSE: "Warehouse", ROLE: "Role"}
# Kinds whose objects may carry tags here (SET TAG / SYSTEM$GET_TAG domains).
_TAGGABLE = (DATABASE, SCHEMA, TABLE, VIEW, WAREHOUSE)


def _quoted(parts: tuple[str, ...]) -> str:
    return ".".join('"' + p.replace('"', '""') + '"' for p in parts)


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _object(ctx: Context, kind: str, parts: tuple[str, ...]) -> ObjectRef:
    """The object an ALTER/COMMENT names, visible to this role, or Snowflake's 002003."""
    if kind in (TABLE, VIEW):
        ref = ctx.ref(kind, parts)
        if ctx.account.get(ref) is None:
            other = ObjectRef(VIEW if kind == TABLE else TABLE, ref.name)
            # ALTER TABLE on a view (and back) is refused by Snowflake as not found.
            ctx.require_path(ref)
            raise does_not_exist_or_not_authorized("Table" if kind == TABLE else "View", other.display())
    else:
        ref = ctx.ref(kind, parts)
    ctx.require_path(ref)
    if ctx.account.get(ref) is None or not ctx.can_see(ref):
        raise does_not_exist_or_not_authorized(_LABEL.get(kind, "Object"), ref.display())
    return ref


def _columns_of(ctx: Context, ref: ObjectRef) -> list[str]:
    duck = ctx.session.conn._duck_conn
    rows = duck.execute(
        "select column_name from duckdb_columns() where database_name = ? and schema_name = ? "
        "and table_name = ? order by column_index",
        list(ref.name),
    ).fetchall()
    return [str(r[0]) for r in rows]


def _column(ctx: Context, ref: ObjectRef, name: str) -> str:
    if name not in _columns_of(ctx, ref):
        raise SnowflakeError(
            904, "42000", f"SQL compilation error: error line 0 at position -1\ninvalid identifier '{name}'"
        )
    return name


# -- tags ------------------------------------------------------------------------------------
def _tag(ctx: Context, parts: tuple[str, ...]) -> SecurableObject:
    ref = ctx.ref(TAG, parts)
    ctx.require_path(ref)
    obj = ctx.account.get(ref)
    if obj is None or not ctx.can_see(ref):
        raise does_not_exist_or_not_authorized("Tag", ref.display())
    return obj


def _string_list(cursor: TokenCursor) -> list[str]:
    values = [cursor.string()]
    while cursor.accept_type(TokenType.COMMA):
        values.append(cursor.string())
    return values


@handles("CREATE", "TAG")
def create_tag(ctx: Context, cursor: TokenCursor) -> ResultSet:
    # https://docs.snowflake.com/en/sql-reference/sql/create-tag
    cursor.expect("CREATE")
    replace = cursor.accept("OR", "REPLACE")
    cursor.expect("TAG")
    if_not_exists = cursor.accept("IF", "NOT", "EXISTS")
    ref = ctx.ref(TAG, cursor.qualified_name())
    allowed: list[str] | None = None
    comment: str | None = None
    while not cursor.at_end():
        if cursor.accept("ALLOWED_VALUES"):
            allowed = _string_list(cursor)
        elif cursor.accept("COMMENT"):
            cursor.equals()
            comment = cursor.string()
        elif cursor.peek("PROPAGATE"):
            raise not_supported("tag propagation (PROPAGATE)")
        else:
            raise cursor.error("ALLOWED_VALUES or COMMENT")
    check = ctx.check_create(ref, "CREATE TAG", if_not_exists=if_not_exists, replace=replace)
    if check.skip:
        return already_exists_status(ref.leaf)
    if check.existing is not None:
        ctx.account.remove_object(ref)
    ctx.account.add_object(ref, owner=ctx.role, comment=comment, allowed_values=allowed)
    ctx.mark_changed()
    return status(f"Tag {ref.leaf} successfully created.")


@handles("DROP", "TAG")
def drop_tag(ctx: Context, cursor: TokenCursor) -> ResultSet:
    # https://docs.snowflake.com/en/sql-reference/sql/drop-tag : its assignments go with it.
    cursor.expect("DROP", "TAG")
    if_exists = cursor.accept("IF", "EXISTS")
    ref = ctx.ref(TAG, cursor.qualified_name())
    cursor.expect_end()
    if ctx.account.get(ref) is None and if_exists:
        return status("Drop statement executed successfully (object does not exist).")
    _tag(ctx, ref.name)
    ctx.require_ownership(ref)
    if ctx.account.tag_policies.get(ref):
        raise not_supported("dropping a tag that has masking policies set; unset them first")
    ctx.account.remove_object(ref)
    ctx.mark_changed()
    return status(f"{ref.leaf} successfully dropped.")


@alter_form(TAG)
def alter_tag(ctx: Context, cursor: TokenCursor) -> ResultSet | None:
    # https://docs.snowflake.com/en/sql-reference/sql/alter-tag
    if cursor.contains_words("MASKING", "POLICY"):
        return None  # masking policies on a tag belong to the masking module
    cursor.expect("ALTER", "TAG")
    if_exists = cursor.accept("IF", "EXISTS")
    ref = ctx.ref(TAG, cursor.qualified_name())
    if ctx.account.get(ref) is None and if_exists:
        return status("Statement executed successfully.")
    obj = _tag(ctx, ref.name)
    ctx.require_ownership(ref)
    allowed: list[str] | None = obj.properties.get("allowed_values")
    if cursor.accept("ADD", "ALLOWED_VALUES"):
        added = _string_list(cursor)
        current = list(allowed or [])
        obj.properties["allowed_values"] = current + [v for v in added if v not in current]
    elif cursor.accept("DROP", "ALLOWED_VALUES"):
        dropped = set(_string_list(cursor))
        obj.properties["allowed_values"] = [v for v in allowed or [] if v not in dropped]
    elif cursor.accept("UNSET", "ALLOWED_VALUES"):
        obj.properties["allowed_values"] = None
    elif cursor.accept("SET", "COMMENT"):
        cursor.equals()
        obj.comment = cursor.string()
    elif cursor.accept("UNSET", "COMMENT"):
        obj.comment = None
    elif cursor.accept("RENAME", "TO"):
        new = ctx.ref(TAG, cursor.qualified_name())
        if ctx.account.get(new) is not None:
            raise already_exists(TAG, new.display())
        if new.name[:2] != ref.name[:2]:
            raise not_supported("moving a tag to another schema")
        ctx.account.rename_object(ref, new)
        for values in ctx.account.tag_values.values():
            if ref in values:
                values[new] = values.pop(ref)
    else:
        raise not_supported(f"ALTER TAG {cursor.rest()[:40]}")
    cursor.expect_end()
    ctx.mark_changed()
    return status("Statement executed successfully.")


@handles("SHOW", "TAGS")
def show_tags(ctx: Context, cursor: TokenCursor) -> ResultSet:
    # https://docs.snowflake.com/en/sql-reference/sql/show-tags
    cursor.expect("SHOW", "TAGS")
    match = like_filter(cursor.string() if cursor.accept("LIKE") else None)
    _, scope = show_scope(ctx, cursor, DATABASE)
    cursor.expect_end()
    cols = columns(
        "created_on:timestamp_ltz",
        "name",
        "database_name",
        "schema_name",
        "owner",
        "comment",
        "allowed_values",
        "owner_role_type",
    )
    rows = []
    for o in shown(ctx, TAG, scope, match):
        allowed = o.properties.get("allowed_values")
        rows.append(
            (
                o.created_on,
                o.ref.leaf,
                o.ref.name[0],
                o.ref.name[1],
                ctx.account.owner(o.ref) or "",
                o.comment or "",
                json.dumps(allowed) if allowed is not None else None,
                "ROLE",
            )
        )
    return ResultSet(cols, rows)


def _tag_assignments(cursor: TokenCursor) -> list[tuple[tuple[str, ...], str]]:
    pairs = []
    while True:
        name = cursor.qualified_name()
        cursor.expect_type(TokenType.EQ, "'='")
        pairs.append((name, cursor.string()))
        if not cursor.accept_type(TokenType.COMMA):
            return pairs


def _tag_names(cursor: TokenCursor) -> list[tuple[str, ...]]:
    names = [cursor.qualified_name()]
    while cursor.accept_type(TokenType.COMMA):
        names.append(cursor.qualified_name())
    return names


def _require_apply(ctx: Context, tag: ObjectRef, target: ObjectRef) -> None:
    """APPLY TAG on the account, or APPLY on the tag plus OWNERSHIP of the object.

    https://docs.snowflake.com/en/user-guide/object-tagging#label-object-tags-privileges
    """
    if ctx.has("APPLY TAG", ACCOUNT_REF):
        return
    if ctx.has("APPLY", tag) and ctx.has("OWNERSHIP", target):
        return
    raise insufficient_privileges(f"operate on {target.kind.lower()} '{target.leaf}'")


def _check_allowed(tag: SecurableObject, value: str) -> None:
    allowed = tag.properties.get("allowed_values")
    if allowed is not None and value not in allowed:
        raise invalid_value(
            f"Tag '{tag.ref.display()}' does not allow the value '{value}'. "
            f"Allowed values: {json.dumps(allowed)}."
        )


def _set_tags(ctx: Context, target: TagTarget, cursor: TokenCursor) -> ResultSet:
    """After `SET TAG` / `UNSET TAG` (the cursor is past SET or UNSET)."""
    setting = cursor.tokens[cursor.pos - 1].text.upper() == "SET"
    cursor.expect("TAG")
    if setting:
        pairs = _tag_assignments(cursor)
        cursor.expect_end()
        tags = [(_tag(ctx, name), value) for name, value in pairs]
        for tag, value in tags:
            _require_apply(ctx, tag.ref, target.ref)
            _check_allowed(tag, value)
        values = ctx.account.tag_values.setdefault(target, {})
        for tag, value in tags:
            values[tag.ref] = value
    else:
        names = _tag_names(cursor)
        cursor.expect_end()
        refs = [_tag(ctx, name).ref for name in names]
        for ref in refs:
            _require_apply(ctx, ref, target.ref)
        values = ctx.account.tag_values.get(target, {})
        for ref in refs:
            values.pop(ref, None)
        if not values:
            ctx.account.tag_values.pop(target, None)
    ctx.mark_changed()
    return status("Statement executed successfully.")


def _alter_head(ctx: Context, cursor: TokenCursor, kind: str) -> ObjectRef | None:
    """`ALTER <kind> [IF EXISTS] name`: the object, or None when IF EXISTS finds none."""
    cursor.expect("ALTER")
    cursor.accept("SECURE")
    cursor.expect(kind)
    if_exists = cursor.accept("IF", "EXISTS")
    parts = cursor.qualified_name()
    ref = ctx.ref(kind, parts)
    if if_exists and ctx.account.get(ref) is None:
        return None
    return _object(ctx, kind, parts)


@alter_form(DATABASE, SCHEMA, TABLE, VIEW, WAREHOUSE)
def alter_set_tag(ctx: Context, cursor: TokenCursor) -> ResultSet | None:
    # https://docs.snowflake.com/en/sql-reference/sql/alter-table (SET TAG, MODIFY COLUMN ... SET TAG),
    # and alter-database, alter-schema, alter-view, alter-warehouse.
    if not (cursor.contains_words("SET", "TAG") or cursor.contains_words("UNSET", "TAG")):
        return None
    kind = cursor.word(1)
    assert kind is not None
    ref = _alter_head(ctx, cursor, kind)
    if ref is None:
        return status("Statement executed successfully.")
    column: str | None = None
    if kind in (TABLE, VIEW) and (cursor.accept("MODIFY") or cursor.accept("ALTER")):
        cursor.accept("COLUMN")
        column = _column(ctx, ref, cursor.name_part())
    if not (cursor.accept("SET") or cursor.accept("UNSET")):
        raise cursor.error("SET TAG or UNSET TAG")
    return _set_tags(ctx, TagTarget(ref, column), cursor)


def lineage(ctx: Context, target: TagTarget) -> list[TagTarget]:
    """Where a target's tags may come from, nearest first: column, table, schema, database."""
    chain = [target]
    if target.column is not None:
        chain.append(TagTarget(target.ref))
    schema = target.ref.schema()
    if schema is not None:
        chain.append(TagTarget(schema))
    database = target.ref.database()
    if database is not None:
        chain.append(TagTarget(database))
    return chain


def effective_tags(ctx: Context, target: TagTarget) -> list[tuple[ObjectRef, str, TagTarget]]:
    """(tag, value, where it is set) for every tag the target has or inherits; nearest wins."""
    seen: dict[ObjectRef, tuple[ObjectRef, str, TagTarget]] = {}
    for level in lineage(ctx, target):
        for tag, value in ctx.account.tag_values.get(level, {}).items():
            seen.setdefault(tag, (tag, value, level))
    return list(seen.values())


_DOMAINS = {
    "DATABASE": DATABASE,
    "SCHEMA": SCHEMA,
    "TABLE": TABLE,
    "WAREHOUSE": WAREHOUSE,
    "COLUMN": "COLUMN",
}


def _target(ctx: Context, name: str, domain: str) -> TagTarget:
    """An object named as SYSTEM$GET_TAG and TAG_REFERENCES name it (a string, and a domain)."""
    kind = _DOMAINS.get(domain.upper())
    if kind is None:
        raise not_supported(f"tag domain '{domain}'")
    parts = TokenCursor(name).qualified_name()
    if kind == "COLUMN":
        if len(parts) < 2:
            raise invalid_value(f"Invalid column name '{name}'.")
        ref = ctx.find_relation(parts[:-1])
        ctx.require_object(ref)
        return TagTarget(ref, _column(ctx, ref, parts[-1]))
    if kind == TABLE:
        ref = ctx.find_relation(parts)
        ctx.require_object(ref)
        return TagTarget(ref)
    return TagTarget(_object(ctx, kind, parts))


def _string_args(node: exp.Func, count: int, what: str) -> list[str]:
    args = node.expressions if isinstance(node, exp.Anonymous) else [node.this, *node.expressions]
    if len(args) != count or not all(isinstance(a, exp.Literal) and a.is_string for a in args):
        raise not_supported(f"{what} with arguments other than {count} string literals")
    return [str(a.this) for a in args]


def get_tag(ctx: Context, node: exp.Func) -> exp.Expr:
    """SYSTEM$GET_TAG('<tag>', '<object>', '<domain>'): the value, inherited if need be, or NULL.

    https://docs.snowflake.com/en/sql-reference/functions/system_get_tag
    """
    tag_name, obj_name, domain = _string_args(node, 3, "SYSTEM$GET_TAG")
    tag = _tag(ctx, TokenCursor(tag_name).qualified_name()).ref
    target = _target(ctx, obj_name, domain)
    for found, value, _level in effective_tags(ctx, target):
        if found == tag:
            return exp.Literal.string(value)
    return exp.cast(exp.Null(), exp.DataType.build("VARCHAR"))


sqlpath.FUNCTION_REWRITERS["SYSTEM$GET_TAG"] = get_tag


# -- INFORMATION_SCHEMA.TAG_REFERENCES ------------------------------------------------------------
_REFERENCE_COLUMNS = (
    "TAG_DATABASE",
    "TAG_SCHEMA",
    "TAG_NAME",
    "TAG_VALUE",
    "LEVEL",
    "OBJECT_DATABASE",
    "OBJECT_SCHEMA",
    "OBJECT_NAME",
    "DOMAIN",
    "COLUMN_NAME",
)


def _level(target: TagTarget) -> str:
    if target.column is not None:
        return "COLUMN"
    return TABLE if target.ref.kind in (TABLE, VIEW) else target.ref.kind


def _reference_rows(ctx: Context, target: TagTarget) -> list[tuple[str | None, ...]]:
    ref = target.ref
    if ref.kind in (TABLE, VIEW):
        where: tuple[str | None, ...] = (ref.name[0], ref.name[1], ref.name[2])
    elif ref.kind == SCHEMA:
        where = (ref.name[0], None, ref.name[1])
    else:
        where = (None, None, ref.leaf)
    domain = _level(target)
    return [
        (tag.name[0], tag.name[1], tag.name[2], value, _level(level), *where, domain, target.column)
        for tag, value, level in sorted(effective_tags(ctx, target), key=lambda t: t[0].name)
    ]


def _references_table(rows: list[tuple[str | None, ...]], alias: exp.Expr | None) -> exp.Expr:
    def literal(v: str | None) -> exp.Expr:
        return exp.cast(exp.Literal.string(v) if v is not None else exp.Null(), exp.DataType.build("VARCHAR"))

    selects = [
        exp.select(
            *[exp.alias_(literal(v), c, quoted=True) for v, c in zip(row, _REFERENCE_COLUMNS, strict=True)]
        )
        for row in rows
    ]
    if not selects:
        empty = [exp.alias_(literal(None), c, quoted=True) for c in _REFERENCE_COLUMNS]
        selects = [exp.select(*empty).where(exp.false())]
    query: exp.Expr = selects[0]
    for more in selects[1:]:
        query = exp.union(query, more, distinct=False)
    table_alias = (
        alias if isinstance(alias, exp.TableAlias) else exp.TableAlias(this=exp.to_identifier("_TAGREFS"))
    )
    return exp.Subquery(this=query, alias=table_alias)


def _table_function(node: exp.Expr) -> tuple[str, exp.Func, tuple[str, ...]] | None:
    """`[db.]INFORMATION_SCHEMA.TAG_REFERENCES[_ALL_COLUMNS](...)` inside TABLE(...)."""
    inner = node.this
    path: list[str] = []
    while isinstance(inner, exp.Dot):
        left = inner.this
        if isinstance(left, exp.Identifier):
            path.append(left.this if left.quoted else left.this.upper())
        elif isinstance(left, exp.Dot):
            for part in (left.this, left.expression):
                if not isinstance(part, exp.Identifier):
                    return None
                path.append(part.this if part.quoted else part.this.upper())
        else:
            return None
        inner = inner.expression
    if not isinstance(inner, exp.Func):
        return None
    name = sqlpath.function_name(inner)
    if name not in ("TAG_REFERENCES", "TAG_REFERENCES_ALL_COLUMNS"):
        return None
    if not path or path[-1] != "INFORMATION_SCHEMA" or len(path) > 2:
        raise not_supported(f"{name} outside INFORMATION_SCHEMA")
    return name, inner, tuple(path[:-1])


def rewrite_tag_references(ctx: Context, tree: exp.Expr) -> exp.Expr:
    """TABLE(INFORMATION_SCHEMA.TAG_REFERENCES('<obj>', '<domain>')) becomes the rows it returns.

    https://docs.snowflake.com/en/sql-reference/functions/tag_references and
    https://docs.snowflake.com/en/sql-reference/functions/tag_references_all_columns
    """
    for node in list(tree.find_all(exp.TableFromRows)):
        found = _table_function(node)
        if found is None:
            continue
        name, func, database = found
        if database:
            ctx.require_object(ObjectRef(DATABASE, database))
        elif ctx.session.database is None:
            raise SnowflakeError(
                90105, "22000", "Cannot perform operation. This session does not have a current database."
            )
        obj_name, domain = _string_args(func, 2, name)
        rows: list[tuple[str | None, ...]]
        if name == "TAG_REFERENCES":
            rows = _reference_rows(ctx, _target(ctx, obj_name, domain))
        else:
            if domain.upper() != "TABLE":
                raise invalid_value(
                    f"Invalid domain '{domain}' for TAG_REFERENCES_ALL_COLUMNS; expected 'table'."
                )
            table = _target(ctx, obj_name, "TABLE").ref
            rows = [
                row for col in _columns_of(ctx, table) for row in _reference_rows(ctx, TagTarget(table, col))
            ]
        # INFORMATION_SCHEMA table functions run on the warehouse, as in Snowflake.
        sqlpath.require_compute(ctx)
        node.replace(_references_table(rows, node.args.get("alias")))
    return tree


sqlpath.STATEMENT_REWRITERS.insert(0, rewrite_tag_references)


# -- comments --------------------------------------------------------------------------------
def _require_comment_privilege(ctx: Context, ref: ObjectRef) -> None:
    # COMMENT needs OWNERSHIP of the object, or MODIFY where the object has that privilege.
    if not ctx.has("MODIFY", ref):
        raise insufficient_privileges(f"operate on {ref.kind.lower()} '{ref.leaf}'")


def _store_comment(ctx: Context, ref: ObjectRef, column: str | None, text: str | None) -> None:
    obj = ctx.account.objects[ref]
    duck = ctx.session.conn._duck_conn
    if column is not None:
        comments: dict[str, str] = obj.properties.setdefault("column_comments", {})
        if text is None:
            comments.pop(column, None)
        else:
            comments[column] = text
        if ref.kind == TABLE:
            value = "NULL" if text is None else _sql_string(text)
            duck.execute(f"COMMENT ON COLUMN {_quoted((*ref.name, column))} IS {value}")
    else:
        obj.comment = text
        if ref.kind in (TABLE, VIEW):
            # fakesnow's INFORMATION_SCHEMA.TABLES reads its own extension table.
            duck.execute(
                "INSERT INTO _fs_global._fs_information_schema._fs_tables_ext VALUES (?, ?, ?, ?) "
                "ON CONFLICT (ext_table_catalog, ext_table_schema, ext_table_name) "
                "DO UPDATE SET comment = excluded.comment",
                [*ref.name, text],
            )
    ctx.mark_changed()


_COMMENT_KINDS = {
    "DATABASE": DATABASE,
    "SCHEMA": SCHEMA,
    "TABLE": TABLE,
    "VIEW": VIEW,
    "WAREHOUSE": WAREHOUSE,
    "TAG": TAG,
    "ROLE": ROLE,
    "COLUMN": "COLUMN",
}


@handles("COMMENT")
def comment_on(ctx: Context, cursor: TokenCursor) -> ResultSet:
    # https://docs.snowflake.com/en/sql-reference/sql/comment
    cursor.expect("COMMENT")
    if_exists = cursor.accept("IF", "EXISTS")
    cursor.expect("ON")
    word = cursor.expect_word()
    kind = _COMMENT_KINDS.get(word)
    if kind is None:
        raise not_supported(f"COMMENT ON {word}")
    parts = cursor.qualified_name()
    cursor.expect("IS")
    text = cursor.string()
    cursor.expect_end()
    column: str | None = None
    if kind == "COLUMN":
        if len(parts) < 2:
            raise cursor.error("a column name")
        try:
            ref = ctx.find_relation(parts[:-1])
        except SnowflakeError:
            if if_exists:
                return status("Statement executed successfully.")
            raise
        ctx.require_object(ref)
        column = _column(ctx, ref, parts[-1])
    else:
        probe = ctx.ref(kind, parts)
        if if_exists and ctx.account.get(probe) is None:
            return status("Statement executed successfully.")
        if kind in (TABLE, VIEW):
            ref = ctx.find_relation(parts)
            ctx.require_object(ref)
        else:
            ref = _object(ctx, kind, parts)
    _require_comment_privilege(ctx, ref)
    _store_comment(ctx, ref, column, text)
    return status("Statement executed successfully.")


@alter_form(DATABASE, SCHEMA, TABLE, VIEW)
def alter_comment(ctx: Context, cursor: TokenCursor) -> ResultSet | None:
    """`ALTER <kind> x SET COMMENT = '...'` / `UNSET COMMENT`, and the column forms
    `ALTER TABLE t ALTER|MODIFY [COLUMN] c COMMENT '...'` / `... UNSET COMMENT`.

    Other ALTERs decline. https://docs.snowflake.com/en/sql-reference/sql/alter-table-column
    """
    kind = cursor.word(1)
    assert kind is not None
    probe = TokenCursor(cursor.sql, cursor.tokens)
    probe.expect("ALTER")
    probe.accept("SECURE")
    probe.expect(kind)
    probe.accept("IF", "EXISTS")
    probe.qualified_name()
    column_form = kind in (TABLE, VIEW) and (probe.peek("ALTER") or probe.peek("MODIFY"))
    if column_form:
        probe.pos += 1
        probe.accept("COLUMN")
        probe.name_part()
        if not (probe.peek("COMMENT") or probe.peek("UNSET", "COMMENT")):
            return None
    elif not (probe.peek("SET", "COMMENT") or probe.peek("UNSET", "COMMENT")):
        return None
    ref = _alter_head(ctx, cursor, kind)
    if ref is None:
        return status("Statement executed successfully.")
    column: str | None = None
    if column_form:
        cursor.pos += 1
        cursor.accept("COLUMN")
        column = _column(ctx, ref, cursor.name_part())
    text: str | None = None
    if cursor.accept("UNSET", "COMMENT"):
        pass
    else:
        cursor.accept("SET")
        cursor.expect("COMMENT")
        cursor.equals()
        text = cursor.string()
    if not cursor.at_end():
        raise not_supported("other changes in the same ALTER as a COMMENT; use one statement each")
    _require_comment_privilege(ctx, ref)
    _store_comment(ctx, ref, column, text)
    return status("Statement executed successfully.")
