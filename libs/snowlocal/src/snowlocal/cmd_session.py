"""Context functions answered from the session: CURRENT_ROLE(), IS_ROLE_IN_SESSION(), ...

They are replaced by literals before fakesnow sees the statement, so they are right in every
place a query can use them, masking policy bodies included.
https://docs.snowflake.com/en/sql-reference/functions-context
"""

from __future__ import annotations

import json

from sqlglot import exp

from snowlocal.engine import ACCOUNT_NAME, Context
from snowlocal.sqlpath import FUNCTION_REWRITERS


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
