"""Roles, users and privileges: CREATE/DROP/ALTER ROLE and USER, GRANT and REVOKE, USE ROLE,
and the SHOW commands that read them back.

Syntax and output columns follow Snowflake's reference pages, named at each handler.
"""

from __future__ import annotations

import time

from sqlglot.tokenizer_core import TokenType

from snowlocal import cmd_shares
from snowlocal.account import (
    ACCOUNT,
    ACCOUNT_REF,
    DATABASE,
    MASKING_POLICY,
    OWNERSHIP,
    PUBLIC,
    ROLE,
    SCHEMA,
    SYSTEM_ROLES,
    TABLE,
    TAG,
    USER,
    VIEW,
    WAREHOUSE,
    FutureGrant,
    ObjectRef,
    User,
)
from snowlocal.engine import ACCOUNT_NAME, Context
from snowlocal.errors import (
    SnowflakeError,
    does_not_exist_or_not_authorized,
    insufficient_privileges,
    invalid_value,
    not_supported,
    role_not_assigned,
)
from snowlocal.privileges import (
    in_managed_schema,
    manages_grants,
    may_grant,
    may_grant_future,
    may_grant_role,
)
from snowlocal.registry import handles
from snowlocal.results import ResultSet, already_exists_status, columns, like_filter, status
from snowlocal.tokens import TokenCursor

# Privileges each object type accepts; ALL [PRIVILEGES] expands to these.
# https://docs.snowflake.com/en/user-guide/security-access-control-privileges
PRIVILEGES: dict[str, tuple[str, ...]] = {
    ACCOUNT: (
        "CREATE DATABASE",
        "CREATE ROLE",
        "CREATE USER",
        "CREATE WAREHOUSE",
        "CREATE SHARE",
        "IMPORT SHARE",
        # Adding accounts to a share and removing them (with the share's OWNERSHIP):
        # https://docs.snowflake.com/en/release-notes/bcr-bundles/2024_07/bcr-1734
        "MANAGE SHARE TARGET",
        "MANAGE GRANTS",
        "APPLY MASKING POLICY",
        "APPLY TAG",
        "EXECUTE TASK",
        "MONITOR USAGE",
        "CREATE INTEGRATION",
        "MONITOR EXECUTION",
    ),
    DATABASE: ("USAGE", "MONITOR", "CREATE SCHEMA", "MODIFY", "CREATE DATABASE ROLE"),
    SCHEMA: (
        "USAGE",
        "MONITOR",
        "MODIFY",
        "CREATE TABLE",
        "CREATE VIEW",
        "CREATE TAG",
        "CREATE MASKING POLICY",
        "CREATE SEQUENCE",
        "CREATE STAGE",
        "CREATE FILE FORMAT",
        "CREATE FUNCTION",
        "CREATE PROCEDURE",
        "CREATE MATERIALIZED VIEW",
        "CREATE TASK",
        "CREATE STREAM",
    ),
    TABLE: ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "REBUILD", "EVOLVE SCHEMA"),
    VIEW: ("SELECT", "REFERENCES"),
    WAREHOUSE: ("USAGE", "OPERATE", "MODIFY", "MONITOR"),
    TAG: ("APPLY", "READ"),
    MASKING_POLICY: ("APPLY",),
}
_KINDS = {
    "DATABASE": DATABASE,
    "SCHEMA": SCHEMA,
    "TABLE": TABLE,
    "VIEW": VIEW,
    "WAREHOUSE": WAREHOUSE,
    "TAG": TAG,
    "ROLE": ROLE,
    "USER": USER,
}
_PLURALS = {"SCHEMAS": SCHEMA, "TABLES": TABLE, "VIEWS": VIEW, "TAGS": TAG}
_FUTURE_KINDS = (SCHEMA, TABLE, VIEW)


def _kind(cursor: TokenCursor, plural: bool = False) -> str:
    if plural:
        if cursor.accept("MASKING", "POLICIES"):
            return MASKING_POLICY
        word = cursor.expect_word()
        if word not in _PLURALS:
            raise not_supported(f"privileges on {word}")
        return _PLURALS[word]
    if cursor.accept("MASKING", "POLICY"):
        return MASKING_POLICY
    word = cursor.expect_word()
    if word not in _KINDS:
        raise not_supported(f"privileges on {word}")
    return _KINDS[word]


def _object_ref(ctx: Context, kind: str, cursor: TokenCursor) -> ObjectRef:
    return ctx.ref(kind, cursor.qualified_name())


def _require_role(ctx: Context, role: str) -> ObjectRef:
    ref = ObjectRef(ROLE, (role,))
    if ctx.account.get(ref) is None:
        raise does_not_exist_or_not_authorized("Role", role)
    return ref


def _require_user(ctx: Context, user: str) -> None:
    if user not in ctx.account.users:
        raise does_not_exist_or_not_authorized("User", user)


# -- roles -----------------------------------------------------------------------------------
@handles("CREATE", "ROLE")
def create_role(ctx: Context, cursor: TokenCursor) -> ResultSet:
    # https://docs.snowflake.com/en/sql-reference/sql/create-role
    cursor.expect("CREATE")
    replace = cursor.accept("OR", "REPLACE")
    cursor.expect("ROLE")
    if_not_exists = cursor.accept("IF", "NOT", "EXISTS")
    name = cursor.name_part()
    comment = _comment_clause(cursor)
    cursor.expect_end()
    ref = ObjectRef(ROLE, (name,))
    check = ctx.check_create(ref, "CREATE ROLE", if_not_exists=if_not_exists, replace=replace)
    if check.skip:
        return already_exists_status(name)
    if check.existing is not None:
        ctx.account.drop_role(name)
    ctx.account.add_object(ref, owner=ctx.role, comment=comment)
    ctx.mark_changed()
    return status(f"Role {name} successfully created.")


@handles("DROP", "ROLE")
def drop_role(ctx: Context, cursor: TokenCursor) -> ResultSet:
    # https://docs.snowflake.com/en/sql-reference/sql/drop-role
    cursor.expect("DROP", "ROLE")
    if_exists = cursor.accept("IF", "EXISTS")
    name = cursor.name_part()
    cursor.expect_end()
    ref = ObjectRef(ROLE, (name,))
    if ctx.account.get(ref) is None:
        if if_exists:
            return status("Drop statement executed successfully (object does not exist).")
        raise does_not_exist_or_not_authorized("Role", name)
    if name in SYSTEM_ROLES:
        raise SnowflakeError(3015, "42501", f"SQL access control error:\nCannot drop system role '{name}'.")
    if not ctx.has(OWNERSHIP, ref):
        raise insufficient_privileges(f"operate on role '{name}'")
    if name == ctx.session.role:
        # The session keeps going with PUBLIC, as Snowflake does when the current role goes away.
        ctx.session.role = PUBLIC
    ctx.account.drop_role(name)
    ctx.mark_changed()
    return status(f"{name} successfully dropped.")


@handles("ALTER", "ROLE")
def alter_role(ctx: Context, cursor: TokenCursor) -> ResultSet:
    cursor.expect("ALTER", "ROLE")
    if_exists = cursor.accept("IF", "EXISTS")
    name = cursor.name_part()
    ref = ObjectRef(ROLE, (name,))
    if ctx.account.get(ref) is None:
        if if_exists:
            return status("Statement executed successfully.")
        raise does_not_exist_or_not_authorized("Role", name)
    if not ctx.has(OWNERSHIP, ref):
        raise insufficient_privileges(f"operate on role '{name}'")
    obj = ctx.account.objects[ref]
    if cursor.accept("SET", "COMMENT"):
        cursor.equals()
        obj.comment = cursor.string()
    elif cursor.accept("UNSET", "COMMENT"):
        obj.comment = None
    else:
        raise not_supported(f"ALTER ROLE {cursor.rest()[:40]}")
    cursor.expect_end()
    ctx.mark_changed()
    return status("Statement executed successfully.")


@handles("USE", "ROLE")
def use_role(ctx: Context, cursor: TokenCursor) -> ResultSet:
    # https://docs.snowflake.com/en/sql-reference/sql/use-role
    cursor.expect("USE", "ROLE")
    name = cursor.name_part()
    cursor.expect_end()
    if name not in ctx.engine.roles.user_roles(ctx.session.user):
        raise role_not_assigned(name)
    ctx.session.role = name
    return status("Statement executed successfully.")


@handles("USE", "SECONDARY", "ROLES")
def use_secondary_roles(ctx: Context, cursor: TokenCursor) -> ResultSet:
    # https://docs.snowflake.com/en/sql-reference/sql/use-secondary-roles
    cursor.expect("USE", "SECONDARY", "ROLES")
    if cursor.accept("ALL"):
        ctx.session.secondary_roles_all = True
    elif cursor.accept("NONE"):
        ctx.session.secondary_roles_all = False
    else:
        raise not_supported("USE SECONDARY ROLES with a list of roles")
    cursor.expect_end()
    return status("Statement executed successfully.")


# -- users -----------------------------------------------------------------------------------
_USER_PROPERTIES = {
    "PASSWORD": "password",
    "DEFAULT_ROLE": "default_role",
    "DEFAULT_WAREHOUSE": "default_warehouse",
    "DEFAULT_NAMESPACE": "default_namespace",
    "LOGIN_NAME": "login_name",
    "DISPLAY_NAME": "display_name",
    "EMAIL": "email",
    "COMMENT": "comment",
    "DISABLED": "disabled",
}
# Accepted and ignored: they change nothing snowlocal models.
_IGNORED_USER_PROPERTIES = {
    "MUST_CHANGE_PASSWORD",
    "FIRST_NAME",
    "LAST_NAME",
    "TYPE",
    "RSA_PUBLIC_KEY",
    "RSA_PUBLIC_KEY_2",
    "DEFAULT_SECONDARY_ROLES",
    "DAYS_TO_EXPIRY",
    "MINS_TO_UNLOCK",
    "NETWORK_POLICY",
}


def _user_properties(cursor: TokenCursor) -> dict[str, object]:
    props: dict[str, object] = {}
    while not cursor.at_end():
        key = cursor.expect_word()
        cursor.equals()
        if key == "DEFAULT_SECONDARY_ROLES":
            # ('ALL') or (): consume the parenthesised list
            depth = 0
            while not cursor.at_end():
                text = cursor.tokens[cursor.pos].text
                cursor.pos += 1
                depth += text == "("
                depth -= text == ")"
                if depth == 0:
                    break
            continue
        value = cursor.value()
        if key in _USER_PROPERTIES:
            field = _USER_PROPERTIES[key]
            if field in ("default_role", "default_warehouse") and isinstance(value, str):
                value = value if value.startswith('"') else value.upper()
            props[field] = value
        elif key not in _IGNORED_USER_PROPERTIES:
            raise not_supported(f"user property {key}")
    return props


@handles("CREATE", "USER")
def create_user(ctx: Context, cursor: TokenCursor) -> ResultSet:
    # https://docs.snowflake.com/en/sql-reference/sql/create-user
    cursor.expect("CREATE")
    replace = cursor.accept("OR", "REPLACE")
    cursor.expect("USER")
    if_not_exists = cursor.accept("IF", "NOT", "EXISTS")
    name = cursor.name_part()
    props = _user_properties(cursor)
    ref = ObjectRef(USER, (name,))
    check = ctx.check_create(ref, "CREATE USER", if_not_exists=if_not_exists, replace=replace)
    if check.skip:
        return already_exists_status(name)
    if check.existing is not None:
        _forget_user(ctx, name)
    user = User(name=name, password=str(props.pop("password", "")), created_on=0.0, login_name=name)
    for key, value in props.items():
        setattr(user, key, value)
    user.created_on = time.time()
    ctx.account.users[name] = user
    ctx.account.add_object(ref, owner=ctx.role)
    ctx.mark_changed()
    return status(f"User {name} successfully created.")


def _forget_user(ctx: Context, name: str) -> None:
    for key in [k for k in ctx.account.role_grants if k[1] == USER and k[2] == name]:
        ctx.account.revoke_role(*key)
    ctx.account.users.pop(name, None)
    ctx.account.remove_object(ObjectRef(USER, (name,)))


@handles("DROP", "USER")
def drop_user(ctx: Context, cursor: TokenCursor) -> ResultSet:
    cursor.expect("DROP", "USER")
    if_exists = cursor.accept("IF", "EXISTS")
    name = cursor.name_part()
    cursor.expect_end()
    if name not in ctx.account.users:
        if if_exists:
            return status("Drop statement executed successfully (object does not exist).")
        raise does_not_exist_or_not_authorized("User", name)
    if not ctx.has(OWNERSHIP, ObjectRef(USER, (name,))):
        raise insufficient_privileges(f"operate on user '{name}'")
    _forget_user(ctx, name)
    ctx.mark_changed()
    return status(f"{name} successfully dropped.")


@handles("ALTER", "USER")
def alter_user(ctx: Context, cursor: TokenCursor) -> ResultSet:
    # https://docs.snowflake.com/en/sql-reference/sql/alter-user
    cursor.expect("ALTER", "USER")
    if_exists = cursor.accept("IF", "EXISTS")
    name = cursor.name_part()
    if name not in ctx.account.users:
        if if_exists:
            return status("Statement executed successfully.")
        raise does_not_exist_or_not_authorized("User", name)
    own = ctx.has(OWNERSHIP, ObjectRef(USER, (name,)))
    user = ctx.account.users[name]
    if cursor.accept("SET"):
        props = _user_properties(cursor)
        if not (
            own
            or (
                name == ctx.session.user
                and set(props) <= {"default_role", "default_warehouse", "default_namespace"}
            )
        ):
            raise insufficient_privileges(f"operate on user '{name}'")
        for key, value in props.items():
            setattr(user, key, value)
    elif cursor.accept("UNSET"):
        if not own:
            raise insufficient_privileges(f"operate on user '{name}'")
        while not cursor.at_end():
            key = cursor.expect_word()
            if key in _USER_PROPERTIES and key != "PASSWORD":
                setattr(user, _USER_PROPERTIES[key], False if key == "DISABLED" else None)
            cursor.accept_type(TokenType.COMMA)
    else:
        raise not_supported(f"ALTER USER {cursor.rest()[:40]}")
    ctx.mark_changed()
    return status("Statement executed successfully.")


# -- GRANT and REVOKE ---------------------------------------------------------------------------
def _privilege_list(cursor: TokenCursor) -> list[str]:
    privileges: list[str] = []
    words: list[str] = []
    while True:
        if cursor.peek("ON") or cursor.at_end():
            break
        if cursor.accept_type(TokenType.COMMA):
            privileges.append(" ".join(words))
            words = []
            continue
        words.append(cursor.expect_word())
    if words:
        privileges.append(" ".join(words))
    if not privileges:
        raise cursor.error("a privilege")
    return ["ALL" if p in ("ALL", "ALL PRIVILEGES") else p for p in privileges]


def _expand(privileges: list[str], kind: str) -> list[str]:
    allowed = PRIVILEGES.get(kind, ())
    out: list[str] = []
    for privilege in privileges:
        if privilege == "ALL":
            out.extend(allowed)
        elif privilege in allowed:
            out.append(privilege)
        else:
            raise invalid_value(f"Invalid privilege {privilege} on {kind}.")
    return out


class _Target:
    """What a GRANT/REVOKE names: objects now, or a future-grant container."""

    def __init__(self, kind: str, refs: list[ObjectRef], future_in: ObjectRef | None = None) -> None:
        self.kind = kind
        self.refs = refs
        self.future_in = future_in


def _target(ctx: Context, cursor: TokenCursor) -> _Target:
    cursor.expect("ON")
    if cursor.accept("ACCOUNT"):
        return _Target(ACCOUNT, [ACCOUNT_REF])
    if cursor.accept("ALL") or cursor.peek("FUTURE"):
        future = cursor.accept("FUTURE")
        kind = _kind(cursor, plural=True)
        cursor.expect("IN")
        container_kind = (
            SCHEMA if cursor.accept("SCHEMA") else DATABASE if cursor.accept("DATABASE") else None
        )
        if container_kind is None:
            raise cursor.error("SCHEMA or DATABASE")
        container = _object_ref(ctx, container_kind, cursor)
        ctx.require_object(container)
        if future:
            if kind not in _FUTURE_KINDS or (kind == SCHEMA and container_kind != DATABASE):
                raise not_supported(f"future grants on {kind} in {container_kind}")
            return _Target(kind, [], future_in=container)
        if container_kind == SCHEMA:
            refs = [o.ref for o in ctx.account.children(container, kind)]
        else:
            refs = (
                [
                    o.ref
                    for schema in ctx.account.children(container, SCHEMA)
                    for o in ctx.account.children(schema.ref, kind)
                ]
                if kind != SCHEMA
                else [o.ref for o in ctx.account.children(container, SCHEMA)]
            )
        return _Target(kind, sorted(refs, key=lambda r: r.name))
    kind = _kind(cursor)
    ref = _object_ref(ctx, kind, cursor)
    if (
        kind == TABLE
        and ctx.account.get(ref) is None
        and ctx.account.get(ObjectRef(VIEW, ref.name)) is not None
    ):
        # Snowflake accepts ON TABLE for a view: "TABLE" covers views in GRANT's object_type.
        ref = ObjectRef(VIEW, ref.name)
        kind = VIEW
    if kind in (ROLE, USER) or manages_grants(ctx.account, ctx.roles()):
        # MANAGE GRANTS reaches every object, seen or not.
        if ctx.account.get(ref) is None:
            label = kind.title() if kind in (ROLE, USER, DATABASE, SCHEMA) else "Object"
            raise does_not_exist_or_not_authorized(label, ref.display())
    else:
        ctx.require_object(ref)
    return _Target(kind, [ref])


def _grantee(ctx: Context, cursor: TokenCursor, preposition: str) -> str:
    cursor.expect(preposition)
    if cursor.accept("USER"):
        raise not_supported("granting privileges directly to a user")
    cursor.accept("ROLE")
    role = cursor.name_part()
    _require_role(ctx, role)
    return role


def _role_grant(ctx: Context, cursor: TokenCursor, preposition: str) -> tuple[str, str, str]:
    """`ROLE r TO|FROM ROLE|USER g`: the role, the grantee's kind and name, both checked to exist."""
    cursor.expect("ROLE")
    role = cursor.name_part()
    cursor.expect(preposition)
    grantee_kind = USER if cursor.accept("USER") else ROLE if cursor.accept("ROLE") else None
    if grantee_kind is None:
        raise cursor.error("ROLE or USER")
    grantee = cursor.name_part()
    cursor.expect_end()
    _require_role(ctx, role)
    if grantee_kind == ROLE:
        _require_role(ctx, grantee)
    else:
        _require_user(ctx, grantee)
    return role, grantee_kind, grantee


def _require_may_grant(ctx: Context, target: _Target, privileges: list[str]) -> None:
    """The session may grant (or revoke) every privilege on every object named, or nothing happens."""
    roles = ctx.roles()
    for ref in target.refs:
        for privilege in privileges:
            if not may_grant(ctx.account, roles, privilege, ref):
                raise insufficient_privileges(f"operate on {ref.kind.lower()} '{ref.leaf or ACCOUNT_NAME}'")


def _require_may_grant_future(ctx: Context, container: ObjectRef) -> None:
    if not may_grant_future(ctx.account, ctx.roles(), container):
        raise insufficient_privileges(f"operate on {container.kind.lower()} '{container.leaf}'")


@handles("GRANT")
def grant(ctx: Context, cursor: TokenCursor) -> ResultSet:
    # https://docs.snowflake.com/en/sql-reference/sql/grant-privilege
    cursor.expect("GRANT")
    if cursor.peek("ROLE"):
        return _grant_role(ctx, cursor)
    if cursor.peek("OWNERSHIP"):
        return _grant_ownership(ctx, cursor)
    privileges = _privilege_list(cursor)
    target = _target(ctx, cursor)
    if cursor.peek("TO", "SHARE"):
        return cmd_shares.grant_to_share(ctx, privileges, target.kind, target.refs, cursor)
    role = _grantee(ctx, cursor, "TO")
    grant_option = cursor.accept("WITH", "GRANT", "OPTION")
    cursor.expect_end()
    expanded = _expand(privileges, target.kind)
    if target.future_in is not None:
        _require_may_grant_future(ctx, target.future_in)
        for privilege in expanded:
            key = (privilege, target.kind, target.future_in, role)
            held = ctx.account.future_grants.get(key)
            if held is not None and (held.grant_option or not grant_option):
                continue  # granting what is already held changes nothing, as for current grants
            ctx.account.future_grants[key] = FutureGrant(
                privilege, target.kind, target.future_in, role, grant_option, time.time()
            )
        ctx.mark_changed()
        return status("Statement executed successfully.")
    _require_may_grant(ctx, target, expanded)
    for ref in target.refs:
        for privilege in expanded:
            ctx.account.grant(privilege, ref, role, grant_option, granted_by=ctx.role)
    ctx.mark_changed()
    return status("Statement executed successfully.")


def _grant_role(ctx: Context, cursor: TokenCursor) -> ResultSet:
    # https://docs.snowflake.com/en/sql-reference/sql/grant-role
    role, grantee_kind, grantee = _role_grant(ctx, cursor, "TO")
    # A role granted to itself, directly or through others, would make a cycle.
    if grantee_kind == ROLE and (grantee == role or ctx.engine.roles.would_cycle(role, grantee)):
        raise SnowflakeError(
            3221,
            "42601",
            f"SQL execution error:\nGranting role '{role}' to role '{grantee}' would create a cycle.",
        )
    if not may_grant_role(ctx.account, ctx.roles(), role):
        raise insufficient_privileges(f"operate on role '{role}'")
    ctx.account.grant_role(role, grantee_kind, grantee, granted_by=ctx.role)
    ctx.mark_changed()
    return status("Statement executed successfully.")


def _grant_ownership(ctx: Context, cursor: TokenCursor) -> ResultSet:
    # https://docs.snowflake.com/en/sql-reference/sql/grant-ownership
    cursor.expect("OWNERSHIP")
    target = _target(ctx, cursor)
    role = _grantee(ctx, cursor, "TO")
    mode = None
    if cursor.accept("COPY", "CURRENT", "GRANTS"):
        mode = "COPY"
    elif cursor.accept("REVOKE", "CURRENT", "GRANTS"):
        mode = "REVOKE"
    cursor.expect_end()
    roles = ctx.roles()
    if target.future_in is not None:
        _require_may_grant_future(ctx, target.future_in)
        for key in [
            k
            for k in ctx.account.future_grants
            if k[0] == OWNERSHIP and k[1] == target.kind and k[2] == target.future_in
        ]:
            del ctx.account.future_grants[key]
        ctx.account.future_grants[(OWNERSHIP, target.kind, target.future_in, role)] = FutureGrant(
            OWNERSHIP, target.kind, target.future_in, role, False, time.time()
        )
        ctx.mark_changed()
        return status("Statement executed successfully.")
    if target.kind == ACCOUNT:
        raise invalid_value("Invalid privilege OWNERSHIP on ACCOUNT.")
    for ref in target.refs:
        if not (
            ctx.has(OWNERSHIP, ref)
            or (may_grant(ctx.account, roles, OWNERSHIP, ref) and ctx.has("MANAGE GRANTS", ACCOUNT_REF))
        ):
            raise insufficient_privileges(f"operate on {ref.kind.lower()} '{ref.leaf}'")
        managed = in_managed_schema(ctx.account, ref)
        if managed is not None:
            # "In managed access schemas: The OWNERSHIP privilege on objects can only be transferred
            # to a subordinate role of the schema owner."
            # (https://docs.snowflake.com/en/sql-reference/sql/grant-privilege , usage notes). The
            # documentation does not say whether the schema owner itself counts as subordinate, nor
            # which error a refusal gives: snowlocal lets the owner take it, and refuses any other
            # role outside the owner's hierarchy as an access control error.
            schema_owner = ctx.account.owner(managed)
            if schema_owner is None or role not in ctx.engine.roles.closure(schema_owner):
                raise SnowflakeError(
                    3001,
                    "42501",
                    f"SQL access control error:\nOwnership of objects in managed access schema "
                    f"'{managed.display()}' can only be transferred to a subordinate role of its owner.",
                )
        outbound = [g for g in ctx.account.grants_on(ref) if g.privilege != OWNERSHIP]
        if outbound and mode is None:
            # Without COPY or REVOKE CURRENT GRANTS, Snowflake refuses to transfer an object that
            # has grants depending on its current owner.
            raise SnowflakeError(
                3129,
                "42501",
                f"SQL access control error:\nObject '{ref.display()}' has outbound privilege grants; "
                "specify COPY CURRENT GRANTS or REVOKE CURRENT GRANTS to transfer ownership.",
            )
    for ref in target.refs:
        if mode == "REVOKE":
            for g in ctx.account.grants_on(ref):
                if g.privilege != OWNERSHIP:
                    ctx.account.revoke(g.privilege, ref, g.grantee)
        ctx.account.set_owner(ref, role, granted_by=ctx.role)
    ctx.mark_changed()
    return status("Statement executed successfully.")


@handles("REVOKE")
def revoke(ctx: Context, cursor: TokenCursor) -> ResultSet:
    # https://docs.snowflake.com/en/sql-reference/sql/revoke-privilege
    cursor.expect("REVOKE")
    if cursor.peek("ROLE"):
        return _revoke_role(ctx, cursor)
    option_only = cursor.accept("GRANT", "OPTION", "FOR")
    privileges = _privilege_list(cursor)
    if "OWNERSHIP" in privileges:
        raise invalid_value("OWNERSHIP cannot be revoked; transfer it with GRANT OWNERSHIP.")
    target = _target(ctx, cursor)
    if cursor.peek("FROM", "SHARE"):
        return cmd_shares.revoke_from_share(ctx, privileges, target.kind, target.refs, cursor)
    role = _grantee(ctx, cursor, "FROM")
    cursor.accept("CASCADE") or cursor.accept("RESTRICT")
    cursor.expect_end()
    expanded = _expand(privileges, target.kind)
    if target.future_in is not None:
        _require_may_grant_future(ctx, target.future_in)
        for privilege in expanded:
            ctx.account.future_grants.pop((privilege, target.kind, target.future_in, role), None)
        ctx.mark_changed()
        return status("Statement executed successfully.")
    _require_may_grant(ctx, target, expanded)
    for ref in target.refs:
        for privilege in expanded:
            ctx.account.revoke(privilege, ref, role, grant_option_only=option_only)
    ctx.mark_changed()
    return status("Statement executed successfully.")


def _revoke_role(ctx: Context, cursor: TokenCursor) -> ResultSet:
    # https://docs.snowflake.com/en/sql-reference/sql/revoke-role
    role, grantee_kind, grantee = _role_grant(ctx, cursor, "FROM")
    if not may_grant_role(ctx.account, ctx.roles(), role):
        raise insufficient_privileges(f"operate on role '{role}'")
    ctx.account.revoke_role(role, grantee_kind, grantee)
    ctx.mark_changed()
    return status("Statement executed successfully.")


# -- SHOW -------------------------------------------------------------------------------------
_GRANT_COLUMNS = columns(
    "created_on:timestamp_ltz",
    "privilege",
    "granted_on",
    "name",
    "granted_to",
    "grantee_name",
    "grant_option",
    "granted_by",
)


def _granted_on(kind: str) -> str:
    return kind.replace(" ", "_")


@handles("SHOW", "GRANTS")
def show_grants(ctx: Context, cursor: TokenCursor) -> ResultSet:
    # https://docs.snowflake.com/en/sql-reference/sql/show-grants
    cursor.expect("SHOW", "GRANTS")
    if cursor.accept("TO", "SHARE"):
        name = cursor.name_part()
        cursor.expect_end()
        return cmd_shares.show_grants_to_share(ctx, name)
    if cursor.accept("OF", "SHARE"):
        name = cursor.name_part()
        cursor.expect_end()
        return cmd_shares.show_grants_of_share(ctx, name)
    if cursor.accept("TO", "ROLE"):
        role = cursor.name_part()
        cursor.expect_end()
        _require_role(ctx, role)
        rows = [
            (
                g.created_on,
                g.privilege,
                _granted_on(g.on.kind),
                g.on.display() or ACCOUNT_NAME,
                ROLE,
                role,
                str(g.grant_option).lower(),
                g.granted_by,
            )
            for g in ctx.account.grants_to(role)
        ]
        rows += [
            (rg.created_on, "USAGE", ROLE, rg.role, ROLE, role, "false", rg.granted_by)
            for rg in ctx.account.role_grants.values()
            if rg.grantee_kind == ROLE and rg.grantee == role
        ]
        return ResultSet(_GRANT_COLUMNS, sorted(rows, key=lambda r: (r[0], r[1], r[3])))
    if cursor.accept("TO", "USER") or cursor.at_end():
        user = ctx.session.user if cursor.at_end() else cursor.name_part()
        cursor.expect_end()
        _require_user(ctx, user)
        cols = columns(
            "created_on:timestamp_ltz",
            "privilege",
            "granted_on",
            "name",
            "role",
            "granted_to",
            "grantee_name",
            "grant_option",
            "granted_by",
        )
        user_rows: list[tuple[object, ...]] = [
            (rg.created_on, "USAGE", ROLE, rg.role, rg.role, USER, user, "false", rg.granted_by)
            for rg in ctx.account.role_grants.values()
            if rg.grantee_kind == USER and rg.grantee == user
        ]
        return ResultSet(cols, user_rows)
    if cursor.accept("OF", "ROLE"):
        role = cursor.name_part()
        cursor.expect_end()
        _require_role(ctx, role)
        cols = columns("created_on:timestamp_ltz", "role", "granted_to", "grantee_name", "granted_by")
        of_rows: list[tuple[object, ...]] = [
            (rg.created_on, rg.role, rg.grantee_kind, rg.grantee, rg.granted_by)
            for rg in ctx.account.role_grants.values()
            if rg.role == role
        ]
        return ResultSet(cols, of_rows)
    if cursor.peek("ON"):
        target = _target(ctx, cursor)
        cursor.expect_end()
        if target.future_in is not None or len(target.refs) != 1:
            raise not_supported("SHOW GRANTS ON ALL/FUTURE")
        ref = target.refs[0]
        rows = [
            (
                g.created_on,
                g.privilege,
                _granted_on(ref.kind),
                ref.display() or ACCOUNT_NAME,
                ROLE,
                g.grantee,
                str(g.grant_option).lower(),
                g.granted_by,
            )
            for g in ctx.account.grants_on(ref)
        ]
        return ResultSet(_GRANT_COLUMNS, sorted(rows, key=lambda r: (r[0], r[1], r[5])))
    raise not_supported(f"SHOW GRANTS {cursor.rest()[:40]}")


@handles("SHOW", "FUTURE", "GRANTS")
def show_future_grants(ctx: Context, cursor: TokenCursor) -> ResultSet:
    # https://docs.snowflake.com/en/sql-reference/sql/show-grants : SHOW FUTURE GRANTS IN ...
    cursor.expect("SHOW", "FUTURE", "GRANTS", "IN")
    kind = SCHEMA if cursor.accept("SCHEMA") else DATABASE if cursor.accept("DATABASE") else None
    if kind is None:
        raise cursor.error("SCHEMA or DATABASE")
    container = _object_ref(ctx, kind, cursor)
    cursor.expect_end()
    ctx.require_object(container)
    cols = columns(
        "created_on:timestamp_ltz",
        "privilege",
        "grant_on",
        "name",
        "grant_to",
        "grantee_name",
        "grant_option",
    )
    rows = [
        (
            f.created_on,
            f.privilege,
            f.object_kind,
            f"{container.display()}.<{f.object_kind}>",
            ROLE,
            f.grantee,
            str(f.grant_option).lower(),
        )
        for f in ctx.account.future_grants.values()
        if f.container == container
    ]
    return ResultSet(cols, sorted(rows, key=lambda r: (r[0], r[1])))


@handles("SHOW", "ROLES")
def show_roles(ctx: Context, cursor: TokenCursor) -> ResultSet:
    # https://docs.snowflake.com/en/sql-reference/sql/show-roles
    cursor.expect("SHOW", "ROLES")
    pattern = cursor.string() if cursor.accept("LIKE") else None
    cursor.expect_end()
    match = like_filter(pattern)
    cols = columns(
        "created_on:timestamp_ltz",
        "name",
        "is_default",
        "is_current",
        "is_inherited",
        "assigned_to_users:fixed",
        "granted_to_roles:fixed",
        "granted_roles:fixed",
        "owner",
        "comment",
    )
    user = ctx.account.users.get(ctx.session.user)
    inherited = ctx.engine.roles.closure(ctx.session.role)
    rows = []
    for obj in sorted(ctx.account.of_kind(ROLE), key=lambda o: o.ref.leaf):
        name = obj.ref.leaf
        if not match(name):
            continue
        grants = ctx.account.role_grants.values()
        rows.append(
            (
                obj.created_on,
                name,
                "Y" if user is not None and user.default_role == name else "N",
                "Y" if name == ctx.session.role else "N",
                "Y" if name in inherited and name != ctx.session.role else "N",
                sum(1 for g in grants if g.role == name and g.grantee_kind == USER),
                sum(1 for g in grants if g.role == name and g.grantee_kind == ROLE),
                sum(1 for g in grants if g.grantee == name and g.grantee_kind == ROLE),
                ctx.account.owner(obj.ref) or "",
                obj.comment or "",
            )
        )
    return ResultSet(cols, rows)


@handles("SHOW", "USERS")
def show_users(ctx: Context, cursor: TokenCursor) -> ResultSet:
    # https://docs.snowflake.com/en/sql-reference/sql/show-users
    cursor.expect("SHOW", "USERS")
    pattern = cursor.string() if cursor.accept("LIKE") else None
    cursor.expect_end()
    match = like_filter(pattern)
    cols = columns(
        "name",
        "created_on:timestamp_ltz",
        "login_name",
        "display_name",
        "email",
        "comment",
        "disabled",
        "default_warehouse",
        "default_namespace",
        "default_role",
        "owner",
        "has_password",
    )
    rows = [
        (
            u.name,
            u.created_on,
            u.login_name or u.name,
            u.display_name or u.name,
            u.email or "",
            u.comment or "",
            str(u.disabled).lower(),
            u.default_warehouse or "",
            u.default_namespace or "",
            u.default_role or "",
            ctx.account.owner(ObjectRef(USER, (u.name,))) or "",
            str(bool(u.password)).lower(),
        )
        for u in sorted(ctx.account.users.values(), key=lambda u: u.name)
        if match(u.name)
    ]
    return ResultSet(cols, rows)


def _comment_clause(cursor: TokenCursor) -> str | None:
    if cursor.accept("COMMENT"):
        cursor.equals()
        return cursor.string()
    return None
