"""Virtual warehouses: CREATE/ALTER/DROP/USE/SHOW WAREHOUSE and the compute check.

A warehouse here computes nothing (DuckDB does the work), but its access control and state are
Snowflake's: a statement that reads or writes table data needs a current warehouse the session's
roles may use (USAGE), a suspended warehouse resumes by itself when AUTO_RESUME is TRUE and
refuses the query otherwise. State lives in the warehouse object's `properties` (JSON-friendly
values) so it survives a restart. Overview:
https://docs.snowflake.com/en/user-guide/warehouses-overview
"""

from __future__ import annotations

import time
from typing import Any

from sqlglot.tokenizer_core import TokenType

from snowlocal import sqlpath
from snowlocal.account import WAREHOUSE, ObjectRef, SecurableObject
from snowlocal.alter import alter_form
from snowlocal.engine import Context
from snowlocal.errors import (
    SnowflakeError,
    already_exists,
    does_not_exist_or_not_authorized,
    insufficient_privileges,
    invalid_value,
    no_active_warehouse,
    not_supported,
    object_does_not_exist_for_use,
    warehouse_suspended,
)
from snowlocal.registry import handles
from snowlocal.results import ResultSet, already_exists_status, columns, like_filter, status
from snowlocal.tokens import TokenCursor

STARTED = "STARTED"
SUSPENDED = "SUSPENDED"

# WAREHOUSE_SIZE spellings (any case, with or without the dash) and how SHOW WAREHOUSES prints
# them: https://docs.snowflake.com/en/sql-reference/sql/create-warehouse
_SIZES = {
    "XSMALL": "X-Small",
    "SMALL": "Small",
    "MEDIUM": "Medium",
    "LARGE": "Large",
    "XLARGE": "X-Large",
    "XXLARGE": "2X-Large",
    "X2LARGE": "2X-Large",
    "2XLARGE": "2X-Large",
    "XXXLARGE": "3X-Large",
    "X3LARGE": "3X-Large",
    "3XLARGE": "3X-Large",
    "X4LARGE": "4X-Large",
    "4XLARGE": "4X-Large",
    "X5LARGE": "5X-Large",
    "5XLARGE": "5X-Large",
    "X6LARGE": "6X-Large",
    "6XLARGE": "6X-Large",
}
_TYPES = {"STANDARD": "STANDARD", "SNOWPARK-OPTIMIZED": "SNOWPARK-OPTIMIZED"}
_SCALING = ("STANDARD", "ECONOMY")

# Options stored and shown by SHOW WAREHOUSES; they change nothing snowlocal computes with.
_STORED = {
    "WAREHOUSE_SIZE": "size",
    "WAREHOUSE_TYPE": "type",
    "MIN_CLUSTER_COUNT": "min_cluster_count",
    "MAX_CLUSTER_COUNT": "max_cluster_count",
    "SCALING_POLICY": "scaling_policy",
    "AUTO_SUSPEND": "auto_suspend",
    "AUTO_RESUME": "auto_resume",
    "ENABLE_QUERY_ACCELERATION": "enable_query_acceleration",
    "QUERY_ACCELERATION_MAX_SCALE_FACTOR": "query_acceleration_max_scale_factor",
}
# Options that would change behaviour snowlocal does not model: refused, never ignored.
_REFUSED = {
    "RESOURCE_MONITOR",
    "MAX_CONCURRENCY_LEVEL",
    "STATEMENT_QUEUED_TIMEOUT_IN_SECONDS",
    "STATEMENT_TIMEOUT_IN_SECONDS",
    "RESOURCE_CONSTRAINT",
    "GENERATION",
}
_NUMBERS = ("AUTO_SUSPEND", "MIN_CLUSTER_COUNT", "MAX_CLUSTER_COUNT", "QUERY_ACCELERATION_MAX_SCALE_FACTOR")
_DEFAULTS: dict[str, Any] = {
    "size": "X-Small",
    "type": "STANDARD",
    "min_cluster_count": 1,
    "max_cluster_count": 1,
    "scaling_policy": "STANDARD",
    "auto_suspend": 600,
    "auto_resume": True,
    "enable_query_acceleration": False,
    "query_acceleration_max_scale_factor": 8,
}


def _ref(name: str) -> ObjectRef:
    return ObjectRef(WAREHOUSE, (name,))


def _size(cursor: TokenCursor) -> str:
    """A size as written: 'X-Small', XSMALL, X-SMALL, X2LARGE, "2X-LARGE" ..."""
    text = _size_like_text(cursor)
    key = text.upper().replace("-", "").replace("_", "")
    if key not in _SIZES:
        raise invalid_value(f"invalid value '{text}' for property 'WAREHOUSE_SIZE'")
    return _SIZES[key]


def _option_value(cursor: TokenCursor, key: str) -> Any:
    cursor.equals()
    if key == "WAREHOUSE_SIZE":
        return _size(cursor)
    if key == "WAREHOUSE_TYPE":
        raw = _size_like_text(cursor).upper()
        if raw not in _TYPES:
            raise invalid_value(f"invalid value '{raw}' for property 'WAREHOUSE_TYPE'")
        if raw != "STANDARD":
            raise not_supported(f"WAREHOUSE_TYPE {raw}")
        return raw
    if key == "AUTO_SUSPEND" and cursor.accept("NULL"):
        return None
    value = cursor.value()
    if key in ("AUTO_RESUME", "INITIALLY_SUSPENDED", "ENABLE_QUERY_ACCELERATION"):
        if isinstance(value, str) and value.upper() in ("TRUE", "FALSE"):
            value = value.upper() == "TRUE"
        if not isinstance(value, bool):
            raise invalid_value(f"invalid value '{value}' for property '{key}'")
        return value
    if key in _NUMBERS:
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise invalid_value(f"invalid value '{value}' for property '{key}'")
        if key in ("MIN_CLUSTER_COUNT", "MAX_CLUSTER_COUNT") and not 1 <= value <= 10:
            raise invalid_value(f"invalid value '{value}' for property '{key}'")
        return value
    if key == "SCALING_POLICY":
        if str(value).upper() not in _SCALING:
            raise invalid_value(f"invalid value '{value}' for property 'SCALING_POLICY'")
        return str(value).upper()
    if key == "COMMENT":
        if not isinstance(value, str):
            raise cursor.error("a string literal")
        return value
    return value


def _size_like_text(cursor: TokenCursor) -> str:
    if cursor.peek_type(TokenType.STRING) or cursor.peek_type(TokenType.IDENTIFIER):
        text = cursor.tokens[cursor.pos].text
        cursor.pos += 1
        return text
    first = cursor.tokens[cursor.pos] if not cursor.at_end() else None
    if first is None:
        raise cursor.error("a value")
    text, end = first.text, first.end
    cursor.pos += 1
    while (
        not cursor.at_end()
        and cursor.tokens[cursor.pos].start == end + 1
        and cursor.tokens[cursor.pos].token_type != TokenType.COMMA
    ):
        text += cursor.tokens[cursor.pos].text
        end = cursor.tokens[cursor.pos].end
        cursor.pos += 1
    return text


def _options(cursor: TokenCursor, create: bool) -> dict[str, Any]:
    """`KEY = value` pairs (commas between them allowed); keys as given, values checked."""
    options: dict[str, Any] = {}
    while not cursor.at_end():
        if cursor.accept_type(TokenType.COMMA):
            continue
        if cursor.peek("TAG") or cursor.peek("WITH", "TAG"):
            raise not_supported("tags in CREATE WAREHOUSE; use ALTER WAREHOUSE ... SET TAG")
        key = cursor.expect_word()
        if key in _REFUSED:
            raise not_supported(f"the warehouse property {key}")
        if key not in _STORED and key != "COMMENT" and not (create and key == "INITIALLY_SUSPENDED"):
            raise invalid_value(f"invalid property '{key}' for 'WAREHOUSE'")
        options[key] = _option_value(cursor, key)
    return options


def _check_clusters(props: dict[str, Any]) -> None:
    if props["min_cluster_count"] > props["max_cluster_count"]:
        raise invalid_value("MIN_CLUSTER_COUNT cannot be greater than MAX_CLUSTER_COUNT.")


@handles("CREATE", "WAREHOUSE")
def create_warehouse(ctx: Context, cursor: TokenCursor) -> ResultSet:
    # https://docs.snowflake.com/en/sql-reference/sql/create-warehouse
    cursor.expect("CREATE")
    replace = cursor.accept("OR", "REPLACE")
    cursor.expect("WAREHOUSE")
    if_not_exists = cursor.accept("IF", "NOT", "EXISTS")
    name = cursor.name_part()
    cursor.accept("WITH")
    options = _options(cursor, create=True)
    ref = _ref(name)
    check = ctx.check_create(ref, "CREATE WAREHOUSE", if_not_exists=if_not_exists, replace=replace)
    if check.skip:
        return already_exists_status(name)
    if check.existing is not None:
        ctx.account.remove_object(ref)
    props = dict(_DEFAULTS)
    for key, value in options.items():
        if key in _STORED:
            props[_STORED[key]] = value
    _check_clusters(props)
    now = time.time()
    suspended = bool(options.get("INITIALLY_SUSPENDED", False))
    props.update(state=SUSPENDED if suspended else STARTED, updated_on=now)
    props["resumed_on"] = None if suspended else now
    ctx.account.add_object(ref, owner=ctx.role, comment=options.get("COMMENT"), **props)
    ctx.mark_changed()
    # Creating a warehouse makes it the session's current warehouse.
    ctx.session.warehouse = name
    return status(f"Warehouse {name} successfully created.")


def _find(ctx: Context, name: str) -> SecurableObject:
    ref = _ref(name)
    obj = ctx.account.get(ref)
    if obj is None or not ctx.can_see(ref):
        raise does_not_exist_or_not_authorized("Warehouse", name)
    return obj


@alter_form(WAREHOUSE)
def alter_warehouse(ctx: Context, cursor: TokenCursor) -> ResultSet | None:
    # https://docs.snowflake.com/en/sql-reference/sql/alter-warehouse
    if cursor.contains_words("SET", "TAG") or cursor.contains_words("UNSET", "TAG"):
        return None  # tags: cmd_tags
    cursor.expect("ALTER", "WAREHOUSE")
    if_exists = cursor.accept("IF", "EXISTS")
    name = ctx.session.warehouse if cursor.peek("SUSPEND") or cursor.peek("RESUME") else None
    if name is None:
        name = cursor.name_part()
    ref = _ref(name)
    if ctx.account.get(ref) is None and if_exists:
        return status("Statement executed successfully.")
    obj = _find(ctx, name)
    props = obj.properties
    now = time.time()
    if cursor.accept("SUSPEND"):
        cursor.expect_end()
        _require(ctx, ref, "OPERATE")
        if props.get("state") == SUSPENDED:
            raise SnowflakeError(90064, "22000", f"Invalid state. Warehouse '{name}' cannot be suspended.")
        props.update(state=SUSPENDED, updated_on=now)
    elif cursor.accept("RESUME"):
        if_suspended = cursor.accept("IF", "SUSPENDED")
        cursor.expect_end()
        _require(ctx, ref, "OPERATE")
        if props.get("state") == STARTED:
            if if_suspended:
                return status("Statement executed successfully.")
            raise SnowflakeError(90064, "22000", f"Invalid state. Warehouse '{name}' cannot be resumed.")
        props.update(state=STARTED, resumed_on=now, updated_on=now)
    elif cursor.accept("ABORT", "ALL", "QUERIES"):
        cursor.expect_end()
        _require(ctx, ref, "OPERATE")  # nothing runs concurrently in snowlocal: nothing to abort
    elif cursor.accept("RENAME", "TO"):
        new = cursor.name_part()
        cursor.expect_end()
        ctx.require_ownership(ref)
        if ctx.account.get(_ref(new)) is not None:
            raise already_exists(WAREHOUSE, new)
        ctx.account.rename_object(ref, _ref(new))
        for session in ctx.engine.sessions.values():
            if session.warehouse == name:
                session.warehouse = new
        if ctx.session.warehouse == name:
            ctx.session.warehouse = new
    elif cursor.accept("SET"):
        options = _options(cursor, create=False)
        if not options:
            raise cursor.error("a property")
        _require(ctx, ref, "MODIFY")
        changed = dict(props)
        for key, value in options.items():
            if key in _STORED:
                changed[_STORED[key]] = value
        _check_clusters(changed)
        props.update(changed, updated_on=now)
        if "COMMENT" in options:
            obj.comment = options["COMMENT"]
    elif cursor.accept("UNSET"):
        keys = [cursor.expect_word()]
        while cursor.accept_type(TokenType.COMMA):
            keys.append(cursor.expect_word())
        cursor.expect_end()
        _require(ctx, ref, "MODIFY")
        for key in keys:
            if key in _REFUSED:
                raise not_supported(f"the warehouse property {key}")
            if key != "COMMENT" and key not in _STORED:
                raise invalid_value(f"invalid property '{key}' for 'WAREHOUSE'")
        for key in keys:
            if key == "COMMENT":
                obj.comment = None
            else:
                props[_STORED[key]] = _DEFAULTS[_STORED[key]]
        props["updated_on"] = now
    else:
        raise not_supported(f"ALTER WAREHOUSE {cursor.rest()[:40]}")
    ctx.mark_changed()
    return status("Statement executed successfully.")


def _require(ctx: Context, ref: ObjectRef, privilege: str) -> None:
    if not ctx.has(privilege, ref):
        raise insufficient_privileges(f"operate on warehouse '{ref.leaf}'")


@handles("DROP", "WAREHOUSE")
def drop_warehouse(ctx: Context, cursor: TokenCursor) -> ResultSet:
    # https://docs.snowflake.com/en/sql-reference/sql/drop-warehouse
    cursor.expect("DROP", "WAREHOUSE")
    if_exists = cursor.accept("IF", "EXISTS")
    name = cursor.name_part()
    cursor.expect_end()
    ref = _ref(name)
    if ctx.account.get(ref) is None and if_exists:
        return status("Drop statement executed successfully (object does not exist).")
    _find(ctx, name)
    ctx.require_ownership(ref)
    ctx.account.remove_object(ref)
    # Sessions using it are left with no current warehouse.
    for session in ctx.engine.sessions.values():
        if session.warehouse == name:
            session.warehouse = None
    if ctx.session.warehouse == name:
        ctx.session.warehouse = None
    ctx.mark_changed()
    return status(f"{name} successfully dropped.")


def use_warehouse(ctx: Context, name: str) -> None:
    """USE WAREHOUSE (and login's warehouse): USAGE or OWNERSHIP, else 002043.

    https://docs.snowflake.com/en/sql-reference/sql/use-warehouse
    """
    ref = _ref(name)
    if ctx.account.get(ref) is None or not ctx.has("USAGE", ref):
        raise object_does_not_exist_for_use()
    ctx.session.warehouse = name


def require_warehouse(ctx: Context) -> None:
    """The compute check: a usable current warehouse, resumed if it may resume by itself.

    https://docs.snowflake.com/en/user-guide/warehouses-considerations#automating-warehouse-resumption
    """
    name = ctx.session.warehouse
    if name is None:
        raise no_active_warehouse()
    ref = _ref(name)
    obj = ctx.account.get(ref)
    if obj is None or not ctx.has("USAGE", ref):
        raise no_active_warehouse()
    if obj.properties.get("state") == SUSPENDED:
        if not obj.properties.get("auto_resume", True):
            raise warehouse_suspended(name)
        now = time.time()
        obj.properties.update(state=STARTED, resumed_on=now, updated_on=now)
        ctx.mark_changed()


sqlpath.USE_WAREHOUSE.append(use_warehouse)
sqlpath.COMPUTE_CHECKS.append(require_warehouse)


_SHOW_COLUMNS = columns(
    "name",
    "state",
    "type",
    "size",
    "min_cluster_count:fixed",
    "max_cluster_count:fixed",
    "started_clusters:fixed",
    "running:fixed",
    "queued:fixed",
    "is_default",
    "is_current",
    "auto_suspend:fixed",
    "auto_resume",
    "available",
    "provisioning",
    "quiescing",
    "other",
    "created_on:timestamp_ltz",
    "resumed_on:timestamp_ltz",
    "updated_on:timestamp_ltz",
    "owner",
    "comment",
    "enable_query_acceleration",
    "query_acceleration_max_scale_factor:fixed",
    "resource_monitor",
    "actives:fixed",
    "pendings:fixed",
    "failed:fixed",
    "suspended:fixed",
    "uuid",
    "scaling_policy",
    "budget",
    "owner_role_type",
)


@handles("SHOW", "WAREHOUSES")
def show_warehouses(ctx: Context, cursor: TokenCursor) -> ResultSet:
    # https://docs.snowflake.com/en/sql-reference/sql/show-warehouses : only warehouses the
    # role holds some privilege on.
    cursor.expect("SHOW", "WAREHOUSES")
    match = like_filter(cursor.string() if cursor.accept("LIKE") else None)
    cursor.expect_end()
    user = ctx.account.users.get(ctx.session.user)
    default = user.default_warehouse if user is not None else None
    rows = []
    for obj in sorted(ctx.account.of_kind(WAREHOUSE), key=lambda o: o.ref.leaf):
        name = obj.ref.leaf
        if not (match(name) and ctx.can_see(obj.ref)):
            continue
        p = obj.properties
        started = p.get("state") == STARTED
        rows.append(
            (
                name,
                p.get("state"),
                p.get("type"),
                p.get("size"),
                p.get("min_cluster_count"),
                p.get("max_cluster_count"),
                1 if started else 0,
                0,
                0,
                "Y" if name == default else "N",
                "Y" if name == ctx.session.warehouse else "N",
                p.get("auto_suspend"),
                str(bool(p.get("auto_resume"))).lower(),
                "100" if started else "",
                "0" if started else "",
                "0" if started else "",
                "0" if started else "",
                obj.created_on,
                p.get("resumed_on"),
                p.get("updated_on"),
                ctx.account.owner(obj.ref) or "",
                obj.comment or "",
                str(bool(p.get("enable_query_acceleration"))).lower(),
                p.get("query_acceleration_max_scale_factor"),
                "null",
                1 if started else 0,
                0,
                0,
                0 if started else 1,
                "",
                p.get("scaling_policy"),
                None,
                "ROLE",
            )
        )
    return ResultSet(_SHOW_COLUMNS, rows)
