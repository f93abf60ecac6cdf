"""Snowflake's errors as snowlocal raises them: the errno, SQLSTATE and message a client sees.

Each constructor names the Snowflake behaviour it reproduces. The numbers are the ones Snowflake
returns to its drivers; see https://docs.snowflake.com/en/developer-guide/sql-api/reference and
https://docs.snowflake.com/en/user-guide/security-access-control-overview for the access errors.
"""

from __future__ import annotations


class SnowflakeError(Exception):
    """An error reported to the client as a failed query (HTTP 200, success=false)."""

    def __init__(self, errno: int, sqlstate: str, message: str) -> None:
        super().__init__(message)
        self.errno = errno
        self.sqlstate = sqlstate
        self.message = message


def statement_count_mismatch(actual: int, desired: int) -> SnowflakeError:
    # https://docs.snowflake.com/en/developer-guide/sql-api/submitting-multiple-statements
    return SnowflakeError(
        8, "0A000", f"Actual statement count {actual} did not match the desired statement count {desired}."
    )


def multiple_statements_failed(sql: str, start: int, statement: str, inner: SnowflakeError) -> SnowflakeError:
    """A statement of a multi-statement request failed: the request fails with 100132 (P0000).

    The shape is the documented example's
    (https://docs.snowflake.com/en/developer-guide/sql-api/submitting-multiple-statements , "If
    you specified multiple SQL statements in the request and an error occurred when executing
    any of the statements"): the failing statement's text and where it starts (line and position
    in the request), then the inner error's message; its own code and SQLSTATE are not returned.
    The documentation is not clear on how much of the statement's text is quoted (the example
    shows 30 characters and "..."), nor whether the position counts from the line's start: here
    30 characters, and from the line's start.
    """
    line = sql.count("\n", 0, start) + 1
    position = start - (sql.rfind("\n", 0, start) + 1)
    shown = statement if len(statement) <= 30 else statement[:30] + "..."
    head = "JavaScript execution error: Uncaught Execution of multiple statements failed on statement"
    where = f'"{shown}" (at line {line}, position {position}).'
    trace = (
        "in SYSTEM$MULTISTMT at '    throw `Execution of multiple statements failed on statement {0} "
        "(at line {1}, position {2}).`.replace('{1}', LINES[i])' position 4\nstackstrace: \n"
        "SYSTEM$MULTISTMT line: 10"
    )
    message = f"{head} {where}\n{inner.message} {trace}"
    return SnowflakeError(100132, "P0000", message)


def unsupported_feature(feature: str) -> SnowflakeError:
    """A feature the account's edition lacks. The documentation gives no code or text for this; the
    one here is what users commonly report from Standard Edition accounts."""
    return SnowflakeError(2, "0A000", f"Unsupported feature '{feature}'.")


def syntax_error(detail: str) -> SnowflakeError:
    return SnowflakeError(1003, "42000", f"SQL compilation error:\n{detail}")


def does_not_exist_or_not_authorized(kind: str, name: str) -> SnowflakeError:
    # Snowflake answers 002003 both when an object is missing and when the role may not see it,
    # so a client cannot probe for objects it has no privilege on.
    return SnowflakeError(
        2003, "02000", f"SQL compilation error:\n{kind} '{name}' does not exist or not authorized."
    )


def already_exists(kind: str, name: str) -> SnowflakeError:
    return SnowflakeError(2002, "42710", f"SQL compilation error:\nObject '{name}' already exists.")


def insufficient_privileges(what: str = "operate on this object") -> SnowflakeError:
    return SnowflakeError(3001, "42501", f"SQL access control error:\nInsufficient privileges to {what}.")


def role_not_assigned(role: str) -> SnowflakeError:
    return SnowflakeError(
        3013,
        "42501",
        f"Requested role '{role}' is not assigned to the executing user. Specify another role to activate.",
    )


def no_active_warehouse() -> SnowflakeError:
    # https://docs.snowflake.com/en/user-guide/warehouses-overview : a query that needs compute
    # fails when the session has no current warehouse it may use.
    return SnowflakeError(
        606,
        "57P03",
        "No active warehouse selected in the current session.  "
        "Select an active warehouse with the 'use warehouse' command.\n",
    )


def warehouse_suspended(name: str) -> SnowflakeError:
    return SnowflakeError(
        606,
        "57P03",
        f"Warehouse '{name}' is suspended and cannot be resumed automatically (AUTO_RESUME=FALSE).",
    )


def object_does_not_exist_for_use() -> SnowflakeError:
    return SnowflakeError(
        2043, "02000", "SQL compilation error:\nObject does not exist, or operation cannot be performed."
    )


def invalid_value(detail: str) -> SnowflakeError:
    return SnowflakeError(2029, "22023", f"SQL compilation error:\n{detail}")


def not_supported(what: str) -> SnowflakeError:
    # Never a silent success: anything snowlocal cannot do faithfully fails loudly.
    return SnowflakeError(2, "0A000", f"Unsupported feature: {what} is not supported by snowlocal.")


def incorrect_login() -> SnowflakeError:
    return SnowflakeError(390100, "08004", "Incorrect username or password was specified.")
