"""The session's own state: context functions (CURRENT_ROLE(), IS_ROLE_IN_SESSION(), ...) and
session parameters (ALTER SESSION, SHOW PARAMETERS).

Context functions are replaced by literals before fakesnow sees the statement, so they are right in every
place a query can use them, masking policy bodies included.
https://docs.snowflake.com/en/sql-reference/functions-context
"""

from __future__ import annotations

import json

from sqlglot import exp
from sqlglot.tokenizer_core import TokenType

from snowlocal.engine import ACCOUNT_NAME, Context
from snowlocal.errors import SnowflakeError, not_supported
from snowlocal.registry import handles
from snowlocal.results import ResultSet, columns, like_filter, status
from snowlocal.sqlpath import FUNCTION_REWRITERS
from snowlocal.tokens import TokenCursor


def _text(value: str | None) -> exp.Expr:
    return exp.Literal.string(value) if value is not None else exp.Null()


def _role_argument(node: exp.Func) -> str | None:
    args = node.expressions if isinstance(node, exp.Anonymous) else [node.this]
    if len(args) != 1 or not isinstance(args[0], exp.Literal) or not args[0].is_string:
        return None
    name = str(args[0].this)
    # The argument is a role name as stored: an unquoted-style name matches case-insensitively.
    return name if name.startswith('"') else name.upper()


def is_role_in_session(ctx: Context, node: exp.Func) -> exp.Expr:
    role = _role_argument(node)
    if role is None:
        return exp.false()
    return exp.true() if role.strip('"') in ctx.roles() else exp.false()


FUNCTION_REWRITERS.update(
    {
        "CURRENTROLE": lambda ctx, _n: _text(ctx.session.role),
        "CURRENT_ROLE": lambda ctx, _n: _text(ctx.session.role),
        "CURRENTUSER": lambda ctx, _n: _text(ctx.session.user),
        "CURRENT_USER": lambda ctx, _n: _text(ctx.session.user),
        "CURRENTWAREHOUSE": lambda ctx, _n: _text(ctx.session.warehouse),
        "CURRENT_WAREHOUSE": lambda ctx, _n: _text(ctx.session.warehouse),
        "CURRENTACCOUNT": lambda _c, _n: _text(ACCOUNT_NAME),
        "CURRENT_ACCOUNT": lambda _c, _n: _text(ACCOUNT_NAME),
        "CURRENT_ACCOUNT_NAME": lambda _c, _n: _text(ACCOUNT_NAME),
        "CURRENT_AVAILABLE_ROLES": lambda ctx, _n: _text(
            json.dumps(sorted(ctx.engine.roles.user_roles(ctx.session.user)))
        ),
        "IS_ROLE_IN_SESSION": is_role_in_session,
    }
)


# -- session parameters ----------------------------------------------------------------------------
# Parameters a session may set, with their defaults and types as SHOW PARAMETERS reports them:
# https://docs.snowflake.com/en/sql-reference/parameters . Those that would change how SQL
# behaves (QUOTED_IDENTIFIERS_IGNORE_CASE, ...) are refused rather than stored and ignored.
SESSION_PARAMETERS: dict[str, tuple[str, str, str]] = {
    "QUERY_TAG": (
        "",
        "STRING",
        "String (up to 2000 characters) used to tag statements executed by the session",
    ),
    "STATEMENT_TIMEOUT_IN_SECONDS": ("172800", "NUMBER", "Timeout in seconds for statements"),
    "LOCK_TIMEOUT": ("43200", "NUMBER", "Number of seconds to wait while trying to lock a resource"),
    "USE_CACHED_RESULT": ("true", "BOOLEAN", "Whether to reuse persisted query results"),
    "MULTI_STATEMENT_COUNT": ("1", "NUMBER", "Number of statements to execute when using multi-statement"),
    "ABORT_DETACHED_QUERY": ("false", "BOOLEAN", "Whether to abort a query when its client disconnects"),
}


def _parameter_value(cursor: TokenCursor) -> str:
    value = cursor.value()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@handles("ALTER", "SESSION")
def alter_session(ctx: Context, cursor: TokenCursor) -> ResultSet:
    # https://docs.snowflake.com/en/sql-reference/sql/alter-session
    cursor.expect("ALTER", "SESSION")
    parameters = ctx.session.parameters
    if cursor.accept("SET"):
        changes: dict[str, str] = {}
        while True:
            name = cursor.expect_word()
            if name not in SESSION_PARAMETERS:
                raise not_supported(f"the session parameter {name}")
            cursor.equals()
            changes[name] = _parameter_value(cursor)
            if not cursor.accept_type(TokenType.COMMA):
                break
        cursor.expect_end()
        if len(changes.get("QUERY_TAG", "")) > 2000:
            raise SnowflakeError(1008, "22023", "QUERY_TAG is longer than 2000 characters.")
        parameters.update(changes)
    elif cursor.accept("UNSET"):
        while True:
            parameters.pop(cursor.expect_word(), None)
            if not cursor.accept_type(TokenType.COMMA):
                break
        cursor.expect_end()
    else:
        raise cursor.error("SET or UNSET")
    return status("Statement executed successfully.")


@handles("SHOW", "PARAMETERS")
def show_parameters(ctx: Context, cursor: TokenCursor) -> ResultSet:
    # https://docs.snowflake.com/en/sql-reference/sql/show-parameters (session level only)
    cursor.expect("SHOW", "PARAMETERS")
    match = like_filter(cursor.string() if cursor.accept("LIKE") else None)
    if cursor.accept("IN"):
        cursor.expect("SESSION")
    cursor.expect_end()
    cols = columns("key", "value", "default", "level", "description", "type")
    rows = []
    for name, (default, kind, description) in sorted(SESSION_PARAMETERS.items()):
        if not match(name):
            continue
        value = ctx.session.parameters.get(name)
        rows.append(
            (
                name,
                default if value is None else value,
                default,
                "" if value is None else "SESSION",
                description,
                kind,
            )
        )
    return ResultSet(cols, rows)
