"""One `ALTER <kind>` entry point shared by the modules that each own some of its forms.

The registry maps a statement's leading keywords to one handler, but `ALTER TABLE` alone has
forms owned by several modules (tags and comments, masking policies, and the rest, which go to
fakesnow), as have `ALTER SCHEMA` (managed access, tags, comments), `ALTER WAREHOUSE` and `ALTER TAG`
(allowed values; masking policies on a tag). Each
module appends its form to `ALTER_FORMS[kind]`; the registered handler tries them in order with
a fresh cursor, and the first that does not decline (return None) answers. When every form
declines the statement goes on to fakesnow through `sqlpath`, which refuses kinds it does not
run. Syntax: https://docs.snowflake.com/en/sql-reference/sql/alter
"""

from __future__ import annotations

from collections.abc import Callable

from snowlocal.engine import Context
from snowlocal.registry import Handler, handles
from snowlocal.tokens import TokenCursor

KINDS = ("TABLE", "VIEW", "DATABASE", "SCHEMA", "WAREHOUSE", "TAG")

# Sub-handlers per object kind, tried in order; each gets a cursor at the statement's start.
ALTER_FORMS: dict[str, list[Handler]] = {kind: [] for kind in KINDS}


def alter_form(*kinds: str) -> Callable[[Handler], Handler]:
    """Decorator: add a sub-handler to `ALTER_FORMS` for each of `kinds`."""

    def register(handler: Handler) -> Handler:
        for kind in kinds:
            ALTER_FORMS[kind].append(handler)
        return handler

    return register


def _dispatcher(kind: str) -> Handler:
    def dispatch(ctx: Context, cursor: TokenCursor) -> object:
        for form in ALTER_FORMS[kind]:
            result = form(ctx, TokenCursor(cursor.sql, cursor.tokens))
            if result is not None:
                return result
        return None

    dispatch.__name__ = f"alter_{kind.lower()}"
    return dispatch


for _kind in KINDS:
    handles("ALTER", _kind)(_dispatcher(_kind))
