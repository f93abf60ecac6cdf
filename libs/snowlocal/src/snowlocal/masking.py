"""Masking policies: the DDL, attaching them to columns and tags, and masking query results.

A masking policy is a schema object holding a SQL expression over the value of a column
(https://docs.snowflake.com/en/sql-reference/sql/create-masking-policy,
https://docs.snowflake.com/en/sql-reference/sql/alter-masking-policy). It protects a column when
set on it directly (`ALTER TABLE|VIEW ... MODIFY COLUMN c SET MASKING POLICY p`), or through a
tag: a policy set on a tag (`ALTER TAG t SET MASKING POLICY p`) masks every column of a matching
data type that carries the tag, directly or inherited from its table, schema or database
(https://docs.snowflake.com/en/user-guide/tag-based-masking-policies). A direct policy wins over a
tag-based one.

Masking happens when a column is read, for the role of the session reading it
(https://docs.snowflake.com/en/user-guide/security-column-intro): so snowlocal rewrites each query,
after its privilege checks, replacing every reference to a protected table or view by a subquery
projecting the policy expression under the column's name. Joins, WHERE, GROUP BY and `SELECT *`
then see masked values, as in Snowflake. A view over protected tables is expanded into its
definition so that the base-table columns it reads are masked with the querying session's role.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError
from sqlglot.tokenizer_core import TokenType

from snowlocal.account import (
    ACCOUNT_REF,
    MASKING_POLICY,
    SCHEMA,
    TABLE,
    TAG,
    VIEW,
    ObjectRef,
    SecurableObject,
    TagTarget,
)
from snowlocal.alter import ALTER_FORMS
from snowlocal.engine import Context
from snowlocal.errors import (
    SnowflakeError,
    already_exists,
    does_not_exist_or_not_authorized,
    insufficient_privileges,
    invalid_value,
    not_supported,
    syntax_error,
    unsupported_feature,
)
from snowlocal.registry import handles
from snowlocal.results import ResultSet, already_exists_status, columns, like_filter, status
from snowlocal.sqlpath import (
    _QUERY_TYPES,
    FUNCTION_REWRITERS,
    STATEMENT_REWRITERS,
    _target_table,
    function_name,
    table_parts,
)
from snowlocal.tokens import TokenCursor

_POLICY_LABEL = "Masking policy"
# Views nest; a definition that (through renames) refers back to itself must not loop forever.
_MAX_VIEW_DEPTH = 32

# Data type families: a policy protects a column when the type of its first argument and the
# column's type are "the same data type" (tag-based masking; direct attachment requires it too).
# Snowflake's synonyms collapse (VARCHAR/STRING/TEXT, NUMBER/INT/DECIMAL, ...), and so do the
# DuckDB types fakesnow stores them as (BIGINT, DECIMAL(p,s), DOUBLE, JSON, ...).
_FAMILIES = {
    **dict.fromkeys(
        (
            "VARCHAR",
            "STRING",
            "TEXT",
            "CHAR",
            "CHARACTER",
            "NCHAR",
            "NVARCHAR",
            "NVARCHAR2",
            "CHAR VARYING",
            "NCHAR VARYING",
        ),
        "TEXT",
    ),
    **dict.fromkeys(
        (
            "NUMBER",
            "DECIMAL",
            "NUMERIC",
            "INT",
            "INTEGER",
            "BIGINT",
            "SMALLINT",
            "TINYINT",
            "BYTEINT",
            "HUGEINT",
            "UBIGINT",
            "UINTEGER",
            "USMALLINT",
            "UTINYINT",
        ),
        "NUMBER",
    ),
    **dict.fromkeys(("FLOAT", "FLOAT4", "FLOAT8", "DOUBLE", "DOUBLE PRECISION", "REAL"), "FLOAT"),
    **dict.fromkeys(
        ("TIMESTAMP", "TIMESTAMP_NTZ", "DATETIME", "TIMESTAMP WITHOUT TIME ZONE"), "TIMESTAMP_NTZ"
    ),
    **dict.fromkeys(
        (
            "TIMESTAMP_LTZ",
            "TIMESTAMP_TZ",
            "TIMESTAMPTZ",
            "TIMESTAMP WITH TIME ZONE",
            "TIMESTAMP WITH LOCAL TIME ZONE",
        ),
        "TIMESTAMP_TZ",
    ),
    # fakesnow stores VARIANT, OBJECT and ARRAY alike as JSON, so they cannot be told apart.
    **dict.fromkeys(("VARIANT", "OBJECT", "ARRAY", "JSON"), "VARIANT"),
    **dict.fromkeys(("BINARY", "VARBINARY", "BLOB"), "BINARY"),
    "BOOLEAN": "BOOLEAN",
    "DATE": "DATE",
    "TIME": "TIME",
}


def type_family(type_text: str) -> str:
    base = type_text.split("(", 1)[0].strip().upper()
    return _FAMILIES.get(base, base)


# -- the policy object ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Policy:
    ref: ObjectRef
    args: list[tuple[str, str]]  # (argument name, data type) in signature order
    return_type: str
    body: str

    @classmethod
    def of(cls, obj: SecurableObject) -> Policy:
        props = obj.properties
        return cls(obj.ref, [(a[0], a[1]) for a in props["signature"]], props["return_type"], props["body"])

    @property
    def family(self) -> str:
        return type_family(self.args[0][1])

    def signature(self) -> str:
        return "(" + ", ".join(f"{name} {kind}" for name, kind in self.args) + ")"


def _parse_body(body: str) -> exp.Expr:
    try:
        select = sqlglot.parse_one(f"SELECT {body}", read="snowflake")
    except ParseError as exc:
        raise syntax_error(str(exc).splitlines()[0]) from None
    if not isinstance(select, exp.Select) or len(select.expressions) != 1 or select.args.get("from_"):
        raise syntax_error(f"invalid masking policy body: {body[:80]}")
    return select.expressions[0]  # type: ignore[no-any-return]


def _data_type(cursor: TokenCursor) -> str:
    """A data type as written: `VARCHAR`, `NUMBER(38, 0)`, `TIMESTAMP WITH TIME ZONE`, ..."""
    words = [cursor.expect_word()]
    while True:
        if cursor.peek("PRECISION") or cursor.peek("VARYING"):
            words.append(cursor.expect_word())
        elif cursor.peek("WITH", "TIME", "ZONE") or cursor.peek("WITHOUT", "TIME", "ZONE"):
            words += [cursor.expect_word() for _ in range(3)]
        elif cursor.peek("WITH", "LOCAL", "TIME", "ZONE"):
            words += [cursor.expect_word() for _ in range(4)]
        else:
            break
    text = " ".join(words)
    if cursor.accept_type(TokenType.L_PAREN):
        params = []
        while not cursor.accept_type(TokenType.R_PAREN):
            if cursor.at_end():
                raise cursor.error("')'")
            params.append(cursor.tokens[cursor.pos].text)
            cursor.pos += 1
        text += "(" + "".join(p if p != "," else ", " for p in params) + ")"
    return text


def _split_body(cursor: TokenCursor) -> tuple[str, str | None, bool | None]:
    """The body expression after `->`, and the COMMENT / EXEMPT_OTHER_POLICIES options after it."""
    start = cursor.pos
    depth = 0
    end = len(cursor.tokens)
    for i in range(start, len(cursor.tokens)):
        token = cursor.tokens[i]
        if token.token_type == TokenType.L_PAREN:
            depth += 1
        elif token.token_type == TokenType.R_PAREN:
            depth -= 1
        elif (
            depth == 0
            and token.text.upper() in ("COMMENT", "EXEMPT_OTHER_POLICIES")
            and i + 1 < len(cursor.tokens)
            and cursor.tokens[i + 1].token_type == TokenType.EQ
        ):
            end = i
            break
    if end == start:
        raise cursor.error("a masking policy body")
    body = cursor.sql[cursor.tokens[start].start : cursor.tokens[end - 1].end + 1].strip()
    cursor.pos = end
    comment: str | None = None
    exempt: bool | None = None
    while not cursor.at_end():
        if cursor.accept("COMMENT"):
            cursor.equals()
            comment = cursor.string()
        elif cursor.accept("EXEMPT_OTHER_POLICIES"):
            cursor.equals()
            exempt = cursor.value() is True
        else:
            raise cursor.error("COMMENT or end of statement")
    return body, comment, exempt


def _attached_anywhere(ctx: Context, ref: ObjectRef) -> bool:
    return ref in ctx.account.column_policies.values() or any(
        ref in policies for policies in ctx.account.tag_policies.values()
    )


def _still_attached(ref: ObjectRef) -> SnowflakeError:
    return SnowflakeError(
        3008,
        "42601",
        f"SQL compilation error:\nPolicy {ref.leaf} cannot be dropped/replaced as it is associated with "
        "one or more entities.",
    )


def _enterprise(ctx: Context) -> None:
    """Masking policies, on columns or through tags, need Enterprise Edition or higher
    (https://docs.snowflake.com/en/user-guide/security-column-intro)."""
    if ctx.engine.edition != "enterprise":
        raise unsupported_feature("MASKING POLICY")


@handles("CREATE", "MASKING", "POLICY")
def create_masking_policy(ctx: Context, cursor: TokenCursor) -> ResultSet:
    # https://docs.snowflake.com/en/sql-reference/sql/create-masking-policy
    _enterprise(ctx)
    cursor.expect("CREATE")
    replace = cursor.accept("OR", "REPLACE")
    cursor.expect("MASKING", "POLICY")
    if_not_exists = cursor.accept("IF", "NOT", "EXISTS")
    ref = ctx.ref(MASKING_POLICY, cursor.qualified_name())
    cursor.expect("AS")
    cursor.expect_type(TokenType.L_PAREN, "'('")
    args: list[tuple[str, str]] = []
    while True:
        name = cursor.name_part()
        args.append((name, _data_type(cursor)))
        if cursor.accept_type(TokenType.COMMA):
            continue
        cursor.expect_type(TokenType.R_PAREN, "')'")
        break
    cursor.expect("RETURNS")
    return_type = _data_type(cursor)
    cursor.expect_type(TokenType.ARROW, "'->'")
    body, comment, exempt = _split_body(cursor)
    _parse_body(body)
    if type_family(return_type) != type_family(args[0][1]):
        # "The data type of the input must match the data type of the output."
        raise invalid_value(
            f"Masking policy return type {return_type} does not match the input type {args[0][1]}."
        )
    if exempt:
        raise not_supported("EXEMPT_OTHER_POLICIES (row access policies)")
    check = ctx.check_create(ref, "CREATE MASKING POLICY", if_not_exists=if_not_exists, replace=replace)
    if check.skip:
        return already_exists_status(ref.leaf)
    if check.existing is not None:
        if _attached_anywhere(ctx, ref):
            raise _still_attached(ref)
        ctx.account.remove_object(ref)
    ctx.account.add_object(
        ref,
        owner=ctx.role,
        comment=comment,
        signature=[list(a) for a in args],
        return_type=return_type,
        body=body,
    )
    ctx.mark_changed()
    return status(f"Masking policy {ref.leaf} successfully created.")


def _policy(ctx: Context, parts: tuple[str, ...]) -> ObjectRef:
    """A masking policy this role can see, or 002003."""
    ref = ctx.ref(MASKING_POLICY, parts)
    ctx.require_path(ref)
    if ctx.account.get(ref) is None or not (ctx.can_see(ref) or ctx.has("APPLY MASKING POLICY", ACCOUNT_REF)):
        raise does_not_exist_or_not_authorized(_POLICY_LABEL, ref.display())
    return ref


@handles("DROP", "MASKING", "POLICY")
def drop_masking_policy(ctx: Context, cursor: TokenCursor) -> ResultSet:
    _enterprise(ctx)
    cursor.expect("DROP", "MASKING", "POLICY")
    if_exists = cursor.accept("IF", "EXISTS")
    ref = ctx.ref(MASKING_POLICY, cursor.qualified_name())
    cursor.expect_end()
    if ctx.account.get(ref) is None and if_exists:
        return status("Drop statement executed successfully (object does not exist).")
    _policy(ctx, ref.name)
    ctx.require_ownership(ref)
    if _attached_anywhere(ctx, ref):
        raise _still_attached(ref)
    ctx.account.remove_object(ref)
    ctx.mark_changed()
    return status(f"{ref.leaf} successfully dropped.")


@handles("ALTER", "MASKING", "POLICY")
def alter_masking_policy(ctx: Context, cursor: TokenCursor) -> ResultSet:
    # https://docs.snowflake.com/en/sql-reference/sql/alter-masking-policy : the owner may change
    # the body (effective from the next query), rename it, or change its comment.
    _enterprise(ctx)
    cursor.expect("ALTER", "MASKING", "POLICY")
    if_exists = cursor.accept("IF", "EXISTS")
    ref = ctx.ref(MASKING_POLICY, cursor.qualified_name())
    if ctx.account.get(ref) is None and if_exists:
        return status("Statement executed successfully.")
    _policy(ctx, ref.name)
    ctx.require_ownership(ref)
    obj = ctx.account.objects[ref]
    if cursor.accept("SET", "BODY"):
        cursor.expect_type(TokenType.ARROW, "'->'")
        body, comment, _ = _split_body(cursor)
        _parse_body(body)
        obj.properties["body"] = body
        if comment is not None:
            obj.comment = comment
    elif cursor.accept("SET", "COMMENT"):
        cursor.equals()
        obj.comment = cursor.string()
        cursor.expect_end()
    elif cursor.accept("UNSET", "COMMENT"):
        cursor.expect_end()
        obj.comment = None
    elif cursor.accept("RENAME", "TO"):
        new = ctx.ref(MASKING_POLICY, cursor.qualified_name())
        cursor.expect_end()
        schema = new.schema()
        assert schema is not None
        ctx.require_object(schema)
        if ctx.account.get(new) is not None:
            raise already_exists(MASKING_POLICY, new.display())
        ctx.account.rename_object(ref, new)
        # Attachments name the policy; they follow it to its new name.
        for target, policy in list(ctx.account.column_policies.items()):
            if policy == ref:
                ctx.account.column_policies[target] = new
        for tag, policies in ctx.account.tag_policies.items():
            ctx.account.tag_policies[tag] = [new if p == ref else p for p in policies]
    elif cursor.peek("SET", "TAG") or cursor.peek("UNSET", "TAG"):
        raise not_supported("tags on masking policies")
    else:
        raise cursor.error("SET BODY, SET COMMENT, UNSET COMMENT or RENAME TO")
    ctx.mark_changed()
    return status("Statement executed successfully.")


def _visible_policy(ctx: Context, obj: SecurableObject) -> bool:
    # SHOW lists the policies the role owns or may apply, or all with APPLY MASKING POLICY.
    return ctx.can_see(obj.ref) or ctx.has("APPLY MASKING POLICY", ACCOUNT_REF)


@handles("SHOW", "MASKING", "POLICIES")
def show_masking_policies(ctx: Context, cursor: TokenCursor) -> ResultSet:
    # https://docs.snowflake.com/en/sql-reference/sql/show-masking-policies
    from snowlocal.cmd_objects import show_scope, shown

    _enterprise(ctx)
    cursor.expect("SHOW", "MASKING", "POLICIES")
    match = like_filter(cursor.string() if cursor.accept("LIKE") else None)
    _, scope = show_scope(ctx, cursor, SCHEMA)
    cursor.expect_end()
    cols = columns(
        "created_on:timestamp_ltz",
        "name",
        "database_name",
        "schema_name",
        "kind",
        "owner",
        "comment",
        "owner_role_type",
        "options",
    )
    rows = [
        (
            o.created_on,
            o.ref.leaf,
            o.ref.name[0],
            o.ref.name[1],
            "MASKING_POLICY",
            ctx.account.owner(o.ref) or "",
            o.comment or "",
            "ROLE",
            "",
        )
        for o in shown(ctx, MASKING_POLICY, scope, match, lambda o: _visible_policy(ctx, o))
    ]
    return ResultSet(cols, rows)


def _describe(ctx: Context, cursor: TokenCursor) -> ResultSet:
    _enterprise(ctx)
    # https://docs.snowflake.com/en/sql-reference/sql/desc-masking-policy
    ref = _policy(ctx, cursor.qualified_name())
    cursor.expect_end()
    obj = ctx.account.objects[ref]
    policy = Policy.of(obj)
    cols = columns("name", "signature", "return_type", "body")
    return ResultSet(cols, [(ref.leaf, policy.signature(), policy.return_type, policy.body)])


@handles("DESCRIBE", "MASKING", "POLICY")
def describe_masking_policy(ctx: Context, cursor: TokenCursor) -> ResultSet:
    cursor.expect("DESCRIBE", "MASKING", "POLICY")
    return _describe(ctx, cursor)


@handles("DESC", "MASKING", "POLICY")
def desc_masking_policy(ctx: Context, cursor: TokenCursor) -> ResultSet:
    cursor.expect("DESC", "MASKING", "POLICY")
    return _describe(ctx, cursor)


# -- attaching --------------------------------------------------------------------------------------
def relation_columns(ctx: Context, ref: ObjectRef) -> list[tuple[str, str]]:
    """A table's or view's columns and DuckDB types, in order, read fresh (ALTER TABLE changes them)."""
    duck = ctx.session.conn._duck_conn  # the session's own: it sees its open transaction
    rows = duck.execute(
        "SELECT column_name, data_type FROM duckdb_columns() "
        "WHERE database_name = ? AND schema_name = ? AND table_name = ? ORDER BY column_index",
        list(ref.name),
    ).fetchall()
    return [(str(name), str(kind)) for name, kind in rows]


def _may_apply(ctx: Context, policy: ObjectRef, target: ObjectRef) -> bool:
    # https://docs.snowflake.com/en/user-guide/security-column-intro#managing-column-level-security :
    # centralized management is APPLY MASKING POLICY on the account; hybrid management is APPLY on
    # the policy plus OWNERSHIP of the table or view.
    return ctx.has("APPLY MASKING POLICY", ACCOUNT_REF) or (
        ctx.has("APPLY", policy) and ctx.has("OWNERSHIP", target)
    )


def _invalid_identifier(name: str) -> SnowflakeError:
    return SnowflakeError(
        904, "42000", f"SQL compilation error: error line 0 at position -1\ninvalid identifier '{name}'"
    )


@dataclass
class _ColumnChange:
    column: str
    policy: ObjectRef | None  # None: UNSET
    using: list[str] | None
    force: bool


def alter_column_masking(ctx: Context, cursor: TokenCursor) -> ResultSet | None:
    """`ALTER TABLE|VIEW t {MODIFY|ALTER} [COLUMN] c {SET MASKING POLICY p [USING (...)] [FORCE] |
    UNSET MASKING POLICY} [, [COLUMN] c2 ...]`; declines every other ALTER TABLE/VIEW form."""
    if not cursor.contains_words("MASKING", "POLICY"):
        return None
    _enterprise(ctx)
    cursor.expect("ALTER")
    kind = TABLE if cursor.accept("TABLE") else VIEW if cursor.accept("VIEW") else None
    if kind is None:
        return None
    if_exists = cursor.accept("IF", "EXISTS")
    parts = cursor.qualified_name()
    if not (cursor.accept("MODIFY") or cursor.accept("ALTER")):
        return None
    changes: list[_ColumnChange] = []
    while True:
        cursor.accept("COLUMN")
        column = cursor.name_part()
        if cursor.accept("SET", "MASKING", "POLICY"):
            policy = _policy(ctx, cursor.qualified_name())
            using = None
            if cursor.accept("USING"):
                cursor.expect_type(TokenType.L_PAREN, "'('")
                using = [cursor.name_part()]
                while cursor.accept_type(TokenType.COMMA):
                    using.append(cursor.name_part())
                cursor.expect_type(TokenType.R_PAREN, "')'")
            changes.append(_ColumnChange(column, policy, using, cursor.accept("FORCE")))
        elif cursor.accept("UNSET", "MASKING", "POLICY"):
            changes.append(_ColumnChange(column, None, None, False))
        else:
            raise not_supported("other column changes combined with a masking policy change")
        if not cursor.accept_type(TokenType.COMMA):
            break
    cursor.expect_end()
    ref = ctx.ref(kind, parts)
    if ctx.account.get(ref) is None and if_exists:
        return status("Statement executed successfully.")
    ctx.require_object(ref)
    cols = dict(relation_columns(ctx, ref))
    account = ctx.account
    for change in changes:
        if change.column not in cols:
            raise _invalid_identifier(change.column)
        target = TagTarget(ref, change.column)
        current = account.column_policies.get(target)
        if change.policy is None:
            if current is not None and not _may_apply(ctx, current, ref):
                raise insufficient_privileges(f"operate on {kind.lower()} '{ref.leaf}'")
            continue
        if not _may_apply(ctx, change.policy, ref):
            raise insufficient_privileges(f"operate on {kind.lower()} '{ref.leaf}'")
        chosen = Policy.of(account.objects[change.policy])
        if chosen.family != type_family(cols[change.column]):
            raise invalid_value(
                f"Specified column {change.column} of type {cols[change.column]} does not match the "
                f"masking policy {chosen.ref.leaf} signature type {chosen.args[0][1]}."
            )
        using = change.using or [change.column]
        if len(using) != len(chosen.args) or using[0] != change.column:
            # The USING list maps the signature: the masked column first, then the conditional ones.
            raise invalid_value(
                f"Masking policy {chosen.ref.leaf} takes {len(chosen.args)} argument(s); USING must list "
                f"the column {change.column} first and one column per argument."
            )
        for name in using:
            if name not in cols:
                raise _invalid_identifier(name)
        if current is not None and current != change.policy and not change.force:
            raise SnowflakeError(
                3006,
                "42601",
                "SQL compilation error:\nSpecified column already attached to another masking policy. "
                "A column cannot be attached to multiple masking policies. Please drop the current "
                "association in order to attach a new masking policy.",
            )
    obj = account.objects[ref]
    using_map: dict[str, list[str]] = dict(obj.properties.get("masking_using") or {})
    for change in changes:
        target = TagTarget(ref, change.column)
        if change.policy is None:
            account.column_policies.pop(target, None)
            using_map.pop(change.column, None)
        else:
            account.column_policies[target] = change.policy
            if change.using and len(change.using) > 1:
                using_map[change.column] = change.using
            else:
                using_map.pop(change.column, None)
    obj.properties["masking_using"] = using_map
    ctx.mark_changed()
    return status("Statement executed successfully.")


def alter_tag_masking(ctx: Context, cursor: TokenCursor) -> ResultSet | None:
    """`ALTER TAG t SET MASKING POLICY p [, MASKING POLICY p2] [FORCE]` / `UNSET MASKING POLICY p [, ...]`.

    https://docs.snowflake.com/en/sql-reference/sql/alter-tag : a tag holds at most one policy
    per data type; FORCE replaces the one of the same type.
    """
    if not cursor.contains_words("MASKING", "POLICY"):
        return None
    _enterprise(ctx)
    cursor.expect("ALTER", "TAG")
    if_exists = cursor.accept("IF", "EXISTS")
    tag = ctx.ref(TAG, cursor.qualified_name())
    setting = cursor.accept("SET")
    if not setting and not cursor.accept("UNSET"):
        return None
    policies: list[ObjectRef] = []
    while True:
        cursor.expect("MASKING", "POLICY")
        policies.append(ctx.ref(MASKING_POLICY, cursor.qualified_name()))
        if not cursor.accept_type(TokenType.COMMA):
            break
    force = setting and cursor.accept("FORCE")
    cursor.expect_end()
    if ctx.account.get(tag) is None and if_exists:
        return status("Statement executed successfully.")
    ctx.require_object(tag)
    # https://docs.snowflake.com/en/user-guide/tag-based-masking-policies : setting a policy on a
    # tag takes APPLY MASKING POLICY on the account, and the right to apply the tag.
    if not ctx.has("APPLY MASKING POLICY", ACCOUNT_REF) or not (
        ctx.has("APPLY TAG", ACCOUNT_REF) or ctx.has("APPLY", tag)
    ):
        raise insufficient_privileges(f"operate on tag '{tag.leaf}'")
    current = list(ctx.account.tag_policies.get(tag, []))
    if setting:
        for ref in policies:
            _policy(ctx, ref.name)
            policy = Policy.of(ctx.account.objects[ref])
            if len(policy.args) > 1:
                raise not_supported("conditional masking policies on tags")
            if ref in current:
                continue
            same_type = [
                p
                for p in current
                if (o := ctx.account.get(p)) is not None and Policy.of(o).family == policy.family
            ]
            if same_type and not force:
                raise SnowflakeError(
                    3007,
                    "42601",
                    f"SQL compilation error:\nTag {tag.leaf} already has a masking policy for data type "
                    f"{policy.args[0][1]}; a tag supports one masking policy per data type.",
                )
            current = [p for p in current if p not in same_type] + [ref]
    else:
        for ref in policies:
            if ref not in current:
                raise invalid_value(f"Masking policy {ref.display()} is not set on tag {tag.display()}.")
            current.remove(ref)
    if current:
        ctx.account.tag_policies[tag] = current
    else:
        ctx.account.tag_policies.pop(tag, None)
    ctx.mark_changed()
    return status("Statement executed successfully.")


ALTER_FORMS.setdefault(TABLE, []).append(alter_column_masking)
ALTER_FORMS.setdefault(VIEW, []).append(alter_column_masking)
ALTER_FORMS.setdefault(TAG, []).append(alter_tag_masking)


# -- which policy protects a column -----------------------------------------------------------------
def _lineage(ref: ObjectRef, column: str) -> list[TagTarget]:
    """Where a column's tags come from, nearest first: the column, its table, schema, database."""
    out = [TagTarget(ref, column), TagTarget(ref, None)]
    schema, database = ref.schema(), ref.database()
    if schema is not None:
        out.append(TagTarget(schema, None))
    if database is not None:
        out.append(TagTarget(database, None))
    return out


def _tag_value(ctx: Context, ref: ObjectRef, column: str | None, tag: ObjectRef) -> str | None:
    targets = _lineage(ref, column) if column is not None else _lineage(ref, "")[1:]
    for target in targets:
        value = ctx.account.tag_values.get(target, {}).get(tag)
        if value is not None:
            return value
    return None


def column_policy(ctx: Context, ref: ObjectRef, column: str, column_type: str) -> ObjectRef | None:
    """The policy masking a column: set on it directly, else through the nearest matching tag."""
    account = ctx.account
    direct = account.column_policies.get(TagTarget(ref, column))
    if direct is not None and account.get(direct) is not None:
        return direct
    if not account.tag_policies:
        return None
    family = type_family(column_type)
    for target in _lineage(ref, column):
        for tag in account.tag_values.get(target, {}):
            for policy in account.tag_policies.get(tag, []):
                obj = account.get(policy)
                if obj is not None and Policy.of(obj).family == family:
                    return policy
    return None


def _may_be_masked(ctx: Context, ref: ObjectRef) -> bool:
    """Cheap test, without reading columns: could any column of `ref` be masked?"""
    account = ctx.account
    if any(t.ref == ref for t in account.column_policies):
        return True
    tagged = {tag for tag, policies in account.tag_policies.items() if policies}
    if not tagged:
        return False
    for target in [t for t in account.tag_values if t.ref == ref] + _lineage(ref, "")[2:]:
        if any(tag in tagged for tag in account.tag_values.get(target, {})):
            return True
    return False


# -- enforcement ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Scope:
    """Where names in a query resolve, and who invokes it (a view's owner inside a view)."""

    namespace: tuple[str, ...] | None  # (database, schema) of a view's definition; None: the session's
    invoker: str
    depth: int = 0


def _resolve(ctx: Context, parts: tuple[str, ...], scope: _Scope) -> ObjectRef | None:
    if scope.namespace is None:
        try:
            return ctx.find_relation(parts)
        except SnowflakeError:
            return None
    # Unqualified names in a view's definition resolve in the view's own schema.
    full = scope.namespace[: 3 - len(parts)] + parts if len(parts) < 3 else parts
    if len(full) != 3:
        return None
    for kind in (TABLE, VIEW):
        ref = ObjectRef(kind, full)
        if ctx.account.get(ref) is not None:
            return ref
    return None


def _relations(
    ctx: Context, tree: exp.Expr, scope: _Scope, skip: exp.Table | None = None
) -> list[tuple[exp.Table, ObjectRef]]:
    ctes = {cte.alias_or_name.upper() for cte in tree.find_all(exp.CTE)}
    found = []
    for table in tree.find_all(exp.Table):
        if table is skip:
            continue
        parts = table_parts(table)
        if parts is None or (len(parts) == 1 and parts[0].upper() in ctes):
            continue
        if len(parts) >= 2 and parts[-2].upper() == "INFORMATION_SCHEMA":
            continue
        ref = _resolve(ctx, parts, scope)
        if ref is not None:
            found.append((table, ref))
    return found


def _view_query(ctx: Context, view: ObjectRef) -> exp.Expr | None:
    obj = ctx.account.get(view)
    text = obj.properties.get("query") if obj is not None else None
    if not text:
        return None
    try:
        return sqlglot.parse_one(str(text), read="snowflake")
    except ParseError:
        return None


def _needs_rewrite(ctx: Context, ref: ObjectRef, depth: int) -> bool:
    """Whether reading `ref` reads a masked column: its own, or one beneath a view."""
    if _may_be_masked(ctx, ref):
        return True
    return ref.kind == VIEW and _view_reads_masked(ctx, ref, depth)


def _view_reads_masked(ctx: Context, view: ObjectRef, depth: int) -> bool:
    if depth >= _MAX_VIEW_DEPTH:
        return False
    query = _view_query(ctx, view)
    if query is None:
        return False
    scope = _Scope(view.name[:2], "", depth + 1)
    return any(_needs_rewrite(ctx, ref, depth + 1) for _, ref in _relations(ctx, query, scope))


def _quoted(name: str) -> exp.Identifier:
    return exp.Identifier(this=name, quoted=True)


def _table_node(ref: ObjectRef) -> exp.Table:
    db, schema, name = ref.name
    return exp.Table(this=_quoted(name), db=_quoted(schema), catalog=_quoted(db))


def _masked_expression(
    ctx: Context, ref: ObjectRef, column: str, policy_ref: ObjectRef, scope: _Scope
) -> exp.Expr:
    """The policy body with its arguments bound to the columns and context functions answered."""
    policy = Policy.of(ctx.account.objects[policy_ref])
    obj = ctx.account.get(ref)
    using_map = (obj.properties.get("masking_using") or {}) if obj is not None else {}
    using = (
        using_map.get(column)
        if ctx.account.column_policies.get(TagTarget(ref, column)) == policy_ref
        else None
    )
    bound = list(using) if using else [column]
    arguments = {name: bound[i] for i, (name, _) in enumerate(policy.args) if i < len(bound)}
    body = _parse_body(policy.body)
    invoker_roles = ctx.engine.roles.closure(scope.invoker)

    def tag_literal(node: exp.Func, on_column: bool) -> exp.Expr:
        args = node.expressions if isinstance(node, exp.Anonymous) else []
        if len(args) != 1 or not isinstance(args[0], exp.Literal) or not args[0].is_string:
            raise invalid_value(f"{function_name(node)} takes the tag's name as a string.")
        tag_parts = TokenCursor(str(args[0].this)).qualified_name()
        tag = ObjectRef(TAG, ref.name[: max(0, 3 - len(tag_parts))] + tag_parts)
        value = _tag_value(ctx, ref, column if on_column else None, tag)
        return exp.Literal.string(value) if value is not None else exp.Null()

    extra: dict[str, Callable[[exp.Func], exp.Expr]] = {
        # In a policy, INVOKER_ROLE() is the owner of the view being read, else the session's role:
        # https://docs.snowflake.com/en/user-guide/security-column-advanced (context functions).
        "INVOKER_ROLE": lambda _n: exp.Literal.string(scope.invoker),
        "IS_GRANTED_TO_INVOKER_ROLE": lambda n: (
            exp.true() if _role_literal(n) in invoker_roles else exp.false()
        ),
        "SYSTEM$GET_TAG_ON_CURRENT_COLUMN": lambda n: tag_literal(n, True),
        "SYSTEM$GET_TAG_ON_CURRENT_TABLE": lambda n: tag_literal(n, False),
    }

    def swap(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Column) and not node.table:
            ident = node.this
            if isinstance(ident, exp.Identifier):
                name = ident.this if ident.quoted else ident.this.upper()
                if name in arguments:
                    return exp.Column(this=_quoted(arguments[name]))
        if isinstance(node, exp.Func):
            fname = function_name(node)
            if fname in extra:
                return extra[fname](node)
            rewriter = FUNCTION_REWRITERS.get(fname)
            if rewriter is not None:
                return rewriter(ctx, node)
        return node

    return body.transform(swap)


def _role_literal(node: exp.Func) -> str | None:
    args = node.expressions if isinstance(node, exp.Anonymous) else []
    if len(args) != 1 or not isinstance(args[0], exp.Literal) or not args[0].is_string:
        return None
    name = str(args[0].this)
    return name.strip('"') if name.startswith('"') else name.upper()


def _masked_source(ctx: Context, ref: ObjectRef, scope: _Scope) -> exp.Select | None:
    """`SELECT <masked columns> FROM <ref or its expanded definition>`, or None: nothing to mask."""
    expand = ref.kind == VIEW and _view_reads_masked(ctx, ref, scope.depth)
    if not expand and not _may_be_masked(ctx, ref):
        return None
    cols = relation_columns(ctx, ref)
    policies = {name: p for name, kind in cols if (p := column_policy(ctx, ref, name, kind)) is not None}
    if not expand and not policies:
        return None
    source: exp.Expr
    if expand:
        query = _view_query(ctx, ref)
        assert query is not None
        owner = ctx.account.owner(ref) or scope.invoker
        inner = _rewrite(ctx, query, _Scope(ref.name[:2], owner, scope.depth + 1))
        # Named like the view, with the view's column names, so the projection below reads the same.
        source = exp.Subquery(
            this=inner, alias=exp.TableAlias(this=_quoted(ref.leaf), columns=[_quoted(n) for n, _ in cols])
        )
    else:
        source = _table_node(ref)
    projections: list[exp.Expr] = []
    for name, _ in cols:
        policy = policies.get(name)
        if policy is None:
            projections.append(exp.Column(this=_quoted(name)))
        else:
            masked = _masked_expression(ctx, ref, name, policy, scope)
            projections.append(exp.Alias(this=exp.Paren(this=masked), alias=_quoted(name)))
    return exp.select(*projections).from_(source)


def _rewrite(ctx: Context, tree: exp.Expr, scope: _Scope, skip: exp.Table | None = None) -> exp.Expr:
    for table, ref in _relations(ctx, tree, scope, skip):
        if scope.depth >= _MAX_VIEW_DEPTH:
            break
        select = _masked_source(ctx, ref, scope)
        if select is None:
            continue
        alias = table.args.get("alias")
        if alias is None:
            # Named as the query named the table, so `t.col` still resolves.
            alias = exp.TableAlias(this=table.this.copy())
        subquery = exp.Subquery(this=select, alias=alias.copy())
        for arg in ("pivots", "sample"):
            if table.args.get(arg):
                subquery.set(arg, table.args[arg])
        if tree is table:
            return subquery
        table.replace(subquery)
    return tree


def _any_policy(ctx: Context) -> bool:
    return bool(ctx.account.column_policies) or bool(ctx.account.tag_policies)


def mask_statement(ctx: Context, tree: exp.Expr) -> exp.Expr:
    """The STATEMENT_REWRITER: mask what a statement reads; never a DML target or a view's text."""
    if not _any_policy(ctx):
        return tree
    scope = _Scope(None, ctx.session.role)
    if isinstance(tree, _QUERY_TYPES):
        return _rewrite(ctx, tree, scope)
    if isinstance(tree, exp.Create):
        kind = str(tree.args.get("kind") or "").upper()
        query = tree.expression
        # A view stores its definition unmasked: masking applies when the view is read.
        if kind == TABLE and isinstance(query, exp.Expr):
            tree.set("expression", _rewrite(ctx, query, scope))
        return tree
    if isinstance(tree, exp.Insert):
        query = tree.expression
        if isinstance(query, exp.Expr):
            tree.set("expression", _rewrite(ctx, query, scope))
        return tree
    if isinstance(tree, (exp.Update, exp.Delete, exp.Merge)):
        return _rewrite(ctx, tree, scope, skip=_target_table(tree))
    return tree


STATEMENT_REWRITERS.append(mask_statement)
