"""Secure shares, the provider's side: CREATE / DROP / ALTER SHARE, SHOW SHARES, and what
``GRANT … TO SHARE``, ``REVOKE … FROM SHARE`` and ``SHOW GRANTS TO / OF SHARE`` do (called from
:mod:`snowlocal.cmd_access`, which parses GRANT, REVOKE and SHOW GRANTS).

Every rule here is Snowflake's documented one (the facts gathered, with their pages, are in the
repository's ``docs/research/snowflake-shares.md``):

* CREATE SHARE needs the account's CREATE SHARE privilege; the creating role owns the share
  (https://docs.snowflake.com/en/sql-reference/sql/create-share).
* Granting to a share takes the share's OWNERSHIP (or MANAGE GRANTS) and, on each object, the right
  to grant it (its owner, WITH GRANT OPTION, or MANAGE GRANTS; in a managed-access schema the schema
  owner or MANAGE GRANTS); a share takes USAGE on one database only, and that first; SELECT on a view
  only when it is secure (unless SECURE_OBJECTS_ONLY = FALSE); never WITH GRANT OPTION
  (https://docs.snowflake.com/en/sql-reference/sql/grant-privilege-share ,
  https://docs.snowflake.com/en/user-guide/security-access-privileges-shares ,
  https://docs.snowflake.com/en/release-notes/bcr-bundles/2023_04/bcr-1096).
* Adding or removing accounts takes the share's OWNERSHIP and MANAGE SHARE TARGET; adding an account
  before the share has a database is an error; adding one that does not exist succeeds and changes
  nothing (https://docs.snowflake.com/en/sql-reference/sql/alter-share ,
  https://docs.snowflake.com/en/user-guide/data-sharing-provider). This snowlocal holds one account,
  so no other account exists yet: an added account is not kept.
* SHOW SHARES lists outbound shares to ACCOUNTADMIN, and to a role with IMPORT SHARE those its
  current role owns; to others it answers nothing (https://docs.snowflake.com/en/sql-reference/sql/show-shares).

Where the documentation says an error is returned but not which (a second database, a non-secure
view, an object before its database, accounts before a database), snowlocal answers 003001-style
SQL compilation errors of its own wording; the code says so at each.
"""

from __future__ import annotations

import time

from sqlglot.tokenizer_core import TokenType

from snowlocal.account import (
    ACCOUNT_REF,
    ACCOUNTADMIN,
    DATABASE,
    OWNERSHIP,
    SCHEMA,
    SHARE,
    TABLE,
    VIEW,
    ObjectRef,
    ShareGrant,
)
from snowlocal.engine import ACCOUNT_NAME, Context
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
from snowlocal.privileges import manages_grants, may_grant
from snowlocal.registry import handles
from snowlocal.results import ResultSet, already_exists_status, columns, like_filter, status
from snowlocal.tokens import TokenCursor

__all__ = ["grant_to_share", "revoke_from_share", "show_grants_of_share", "show_grants_to_share"]

#: The privileges a share takes on each kind of object (grant-privilege-share, syntax).
_SHARE_PRIVILEGES: dict[str, frozenset[str]] = {
    DATABASE: frozenset({"USAGE", "REFERENCE_USAGE"}),
    SCHEMA: frozenset({"USAGE"}),
    TABLE: frozenset({"SELECT"}),
    VIEW: frozenset({"SELECT"}),
}
#: This account as other accounts name it (organisation.account); snowlocal's organisation is its own.
PROVIDER_ACCOUNT = f"{ACCOUNT_NAME}.{ACCOUNT_NAME}"


def _share_ref(name: str) -> ObjectRef:
    return ObjectRef(SHARE, (name,))


def _require_share(ctx: Context, name: str) -> ObjectRef:
    """The share exists and the session may act on it (owns it, or holds MANAGE GRANTS)."""
    ref = _share_ref(name)
    if ctx.account.get(ref) is None or not (
        ctx.has(OWNERSHIP, ref) or manages_grants(ctx.account, ctx.roles())
    ):
        # The documentation gives no text for a missing share; snowlocal answers as for other objects.
        raise does_not_exist_or_not_authorized("Share", name)
    return ref


def _compilation_error(detail: str) -> SnowflakeError:
    # Documented as an error, its text not documented: snowlocal's own wording.
    return SnowflakeError(3001, "42601", f"SQL compilation error:\n{detail}")


@handles("CREATE", "SHARE")
@handles("CREATE", "OR", "REPLACE", "SHARE")
def create_share(ctx: Context, cursor: TokenCursor) -> ResultSet:
    # https://docs.snowflake.com/en/sql-reference/sql/create-share
    cursor.expect("CREATE")
    if cursor.accept("OR", "REPLACE"):
        raise not_supported("CREATE OR REPLACE SHARE")
    cursor.expect("SHARE")
    if_not_exists = cursor.accept("IF", "NOT", "EXISTS")
    name = cursor.name_part()
    secure_only = True
    comment = None
    while not cursor.at_end():
        if cursor.accept("SECURE_OBJECTS_ONLY"):
            cursor.equals()
            secure_only = _boolean(cursor)
        elif cursor.accept("COMMENT"):
            cursor.equals()
            comment = cursor.string()
        else:
            raise cursor.error("SECURE_OBJECTS_ONLY or COMMENT")
    ctx.require_account_privilege("CREATE SHARE")
    ref = _share_ref(name)
    if ctx.account.get(ref) is not None:
        if if_not_exists:
            return already_exists_status(name)
        raise already_exists(SHARE, name)
    ctx.account.add_object(
        ref, owner=ctx.role, comment=comment, accounts=[], database=None, secure_objects_only=secure_only
    )
    ctx.mark_changed()
    return status(f"Share {name} successfully created.")


def _boolean(cursor: TokenCursor) -> bool:
    word = cursor.expect_word()
    if word not in ("TRUE", "FALSE"):
        raise syntax_error(word)
    return word == "TRUE"


@handles("DROP", "SHARE")
def drop_share(ctx: Context, cursor: TokenCursor) -> ResultSet:
    # https://docs.snowflake.com/en/sql-reference/sql/drop-share (no IF EXISTS is documented)
    cursor.expect("DROP", "SHARE")
    name = cursor.name_part()
    cursor.expect_end()
    ref = _require_share(ctx, name)
    ctx.require_ownership(ref)
    ctx.account.remove_object(ref)
    ctx.mark_changed()
    return status(f"{name} successfully dropped.")


@handles("ALTER", "SHARE")
def alter_share(ctx: Context, cursor: TokenCursor) -> ResultSet:
    # https://docs.snowflake.com/en/sql-reference/sql/alter-share
    cursor.expect("ALTER", "SHARE")
    if_exists = cursor.accept("IF", "EXISTS")
    name = cursor.name_part()
    ref = _share_ref(name)
    if ctx.account.get(ref) is None and if_exists:
        cursor.rest()
        return status("Statement executed successfully.")
    ref = _require_share(ctx, name)
    share = ctx.account.objects[ref]
    if cursor.accept("UNSET", "COMMENT"):
        cursor.expect_end()
        ctx.require_ownership(ref)
        share.comment = None
    elif cursor.peek("SET", "COMMENT"):
        cursor.expect("SET", "COMMENT")
        cursor.equals()
        comment = cursor.string()
        cursor.expect_end()
        ctx.require_ownership(ref)
        share.comment = comment
    else:
        mode = "ADD" if cursor.accept("ADD") else "REMOVE" if cursor.accept("REMOVE") else None
        if mode is None:
            cursor.expect("SET")
            mode = "SET"
        if not (cursor.accept("ACCOUNTS") or cursor.accept("ACCOUNT")):
            raise cursor.error("ACCOUNTS")
        cursor.equals()
        accounts = _accounts(cursor)
        if cursor.accept("SHARE_RESTRICTIONS"):
            cursor.equals()
            _boolean(cursor)
        cursor.expect_end()
        ctx.require_ownership(ref)
        ctx.require_account_privilege("MANAGE SHARE TARGET")
        if mode != "REMOVE" and share.properties.get("database") is None:
            raise _compilation_error(
                f"Share '{name}' has no database: grant USAGE on a database to it first."
            )
        # Only accounts that exist are kept; this snowlocal is the only account there is.
        existing = [a for a in accounts if a in ctx.engine.other_accounts()]
        held = list(share.properties.get("accounts", []))
        if mode == "ADD":
            held += [a for a in existing if a not in held]
        elif mode == "REMOVE":
            held = [a for a in held if a not in accounts]
        else:
            held = existing
        share.properties["accounts"] = held
    ctx.mark_changed()
    return status("Statement executed successfully.")


def _accounts(cursor: TokenCursor) -> list[str]:
    """``org.account`` (or a locator), comma-separated, as ALTER SHARE takes them; upper-cased."""
    found = [".".join(cursor.qualified_name()).upper()]
    while cursor.accept_type(TokenType.COMMA):
        found.append(".".join(cursor.qualified_name()).upper())
    return found


@handles("SHOW", "SHARES")
def show_shares(ctx: Context, cursor: TokenCursor) -> ResultSet:
    # https://docs.snowflake.com/en/sql-reference/sql/show-shares : the columns as its examples give
    # them (the page has no column table; secure_objects_only's position is not stated: left out).
    cursor.expect("SHOW", "SHARES")
    pattern = cursor.string() if cursor.accept("LIKE") else None
    cursor.expect_end()
    match = like_filter(pattern)
    cols = columns(
        "created_on:timestamp_ltz",
        "kind",
        "owner_account",
        "name",
        "database_name",
        "to",
        "owner",
        "comment",
        "listing_global_name",
    )
    roles = ctx.roles()
    sees_all = ACCOUNTADMIN in roles
    if not sees_all and not ctx.has("IMPORT SHARE", ACCOUNT_REF):
        return ResultSet(cols, [])  # without the privilege: an empty answer, not an error
    rows = []
    for obj in sorted(ctx.account.of_kind(SHARE), key=lambda o: o.ref.leaf):
        owner = ctx.account.owner(obj.ref)
        if not match(obj.ref.leaf) or not (sees_all or owner == ctx.role):
            continue
        accounts = obj.properties.get("accounts", [])
        rows.append(
            (
                obj.created_on,
                "OUTBOUND",
                PROVIDER_ACCOUNT,
                obj.ref.leaf,
                obj.properties.get("database") or "",
                ", ".join(accounts[:3]),
                owner,
                obj.comment or "",
                "",
            )
        )
    return ResultSet(cols, rows)


def grant_to_share(
    ctx: Context, privileges: list[str], kind: str, refs: list[ObjectRef], cursor: TokenCursor
) -> ResultSet:
    """``GRANT <privileges> ON <kind> <name> TO SHARE <share>``, the object already resolved."""
    cursor.expect("TO", "SHARE")
    name = cursor.name_part()
    if cursor.accept("WITH", "GRANT", "OPTION"):
        raise unsupported_feature("GRANT PRIVILEGES TO SHARE WITH GRANT OPTION")
    cursor.expect_end()
    ref = _require_share(ctx, name)
    share = ctx.account.objects[ref]
    allowed = _SHARE_PRIVILEGES.get(kind)
    if allowed is None or len(refs) != 1:
        raise not_supported(f"granting to a share on {kind}")
    (target,) = refs
    for privilege in privileges:
        if privilege not in allowed:
            raise invalid_value(f"Invalid privilege {privilege} on {kind} for a share.")
        if not may_grant(ctx.account, ctx.roles(), privilege, target):
            raise insufficient_privileges(f"operate on {target.kind.lower()} '{target.leaf}'")
    database = share.properties.get("database")
    if kind == DATABASE and "USAGE" in privileges:
        if database is not None and database != target.leaf:
            raise _compilation_error(
                f"Share '{name}' already has database '{database}': a share takes USAGE on one database only."
            )
    elif kind != DATABASE:
        owning = target.database()
        if database is None or owning is None or owning.leaf != database:
            raise _compilation_error(
                f"Grant USAGE on the database of '{target.display()}' to share '{name}' before its objects."
            )
    secure_only = share.properties.get("secure_objects_only", True)
    if kind == VIEW and secure_only and not ctx.account.objects[target].properties.get("is_secure"):
        raise _compilation_error(
            f"Only secure views can be granted to share '{name}'; '{target.display()}' is not."
        )
    grants = ctx.account.share_grants.setdefault(name, {})
    for privilege in privileges:
        grants.setdefault((privilege, target), ShareGrant(privilege, target, name, ctx.role, time.time()))
    if kind == DATABASE and "USAGE" in privileges:
        share.properties["database"] = target.leaf
    ctx.mark_changed()
    return status("Statement executed successfully.")


def revoke_from_share(
    ctx: Context, privileges: list[str], kind: str, refs: list[ObjectRef], cursor: TokenCursor
) -> ResultSet:
    """``REVOKE <privileges> ON <kind> <name> FROM SHARE <share>``
    (https://docs.snowflake.com/en/sql-reference/sql/revoke-privilege-share)."""
    cursor.expect("FROM", "SHARE")
    name = cursor.name_part()
    cursor.expect_end()
    ref = _require_share(ctx, name)
    grants = ctx.account.share_grants.get(name, {})
    for target in refs:
        for privilege in privileges:
            grants.pop((privilege, target), None)
    share = ctx.account.objects[ref]
    # The documentation does not say what revoking the database's USAGE does to the share's other
    # grants; snowlocal keeps them, and frees the share for another database only once none is left.
    if not grants:
        share.properties["database"] = None
    ctx.mark_changed()
    return status("Statement executed successfully.")


def show_grants_to_share(ctx: Context, name: str) -> ResultSet:
    """``SHOW GRANTS TO SHARE``: the privileges granted to the share (its owner or MANAGE GRANTS)."""
    _require_share(ctx, name)
    cols = columns(
        "created_on:timestamp_ltz",
        "privilege",
        "granted_on",
        "name",
        "granted_to",
        "grantee_name",
        "grant_option",
        "granted_by",
    )
    rows = [
        (
            g.created_on,
            g.privilege,
            g.on.kind.replace(" ", "_"),
            g.on.display(),
            SHARE,
            f"{PROVIDER_ACCOUNT}.{name}",
            "false",
            g.granted_by,
        )
        for g in sorted(
            ctx.account.share_grants.get(name, {}).values(), key=lambda g: (g.created_on, g.on.name)
        )
    ]
    return ResultSet(cols, rows)


def show_grants_of_share(ctx: Context, name: str) -> ResultSet:
    """``SHOW GRANTS OF SHARE``: the accounts that created a database from it. No other account
    exists in this snowlocal, so none has."""
    _require_share(ctx, name)
    return ResultSet(columns("created_on:timestamp_ltz", "share", "granted_to", "account"), [])
