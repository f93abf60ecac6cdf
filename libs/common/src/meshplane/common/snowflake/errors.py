"""What went wrong in Snowflake, sorted into what a handler should do about it.

The gateway never lets a connector exception out. It turns each into one of two kinds:

* :class:`TransientSnowflakeError` (a :class:`~meshplane.common.errors.TemporaryError`) — the
  work may succeed if tried again later: the network, an
  HTTP 429 or 5xx, a lock held by someone else, a statement that timed out, a session that
  expired. The handler retries with backoff while the partition waits.
* :class:`PermanentSnowflakeError` (a :class:`~meshplane.common.errors.PermanentError`) — trying
  again will fail the same way: missing privileges, an
  object that does not exist, a syntax error, a missing warehouse, bad credentials. The handler
  emits ``audit.…failed``, commits the offset and moves on.

Both carry the errno, SQLSTATE, query id and message Snowflake reported. An error whose code is
not in the tables below is **permanent** unless its SQLSTATE or exception type says it is a
connection problem: retrying something nobody understood would stall the partition forever,
whereas a failed audit event is visible, and plans are safe to run again once someone has looked.

Where the numbers come from:

* Server errors are Snowflake's six-digit error codes with their SQLSTATE, as the drivers receive
  them (``ProgrammingError: 002003 (02000): …``); the SQLSTATE classes follow the SQL standard
  that https://docs.snowflake.com/en/developer-guide/sql-api/reference uses for its ``sqlState``.
* Session codes 390112-390115 are the ones the Python connector itself reacts to
  (``snowflake/connector/network.py``: ``SESSION_EXPIRED_GS_CODE = "390112"``,
  ``MASTER_TOKEN_EXPIRED_GS_CODE = "390114"``…), with 390111 (session no longer exists); a
  session lasts while its master token is valid, 4 hours without activity
  (https://docs.snowflake.com/en/sql-reference/parameters#client-session-keep-alive).
* Client errors 25xxxx are the connector's own (``snowflake/connector/errorcode.py``).
* A statement that fails inside a multi-statement request fails the whole request with
  **100132** (SQLSTATE P0000): the message names the failing statement by its text and its line and
  position in the request, then carries the inner error's *message* — not its code
  (https://docs.snowflake.com/en/developer-guide/sql-api/submitting-multiple-statements). The
  statements before it stay applied. So :func:`classify_fields` sorts a 100132 by its inner
  message (:data:`TRANSIENT_INNER_MESSAGES`: lock waits, timeouts, internal errors, cancellations),
  and :func:`failed_statement` reads where it failed, which the gateway turns into the statement's
  position in the plan.
* HTTP failures surface from the connector as errno ``290000 + status``
  (``ER_HTTP_GENERAL_ERROR``, e.g. 290429 for HTTP 429) once its own retries are used up. When the
  connector re-raises such an error it adds the base a second time (580429), so the status is
  read modulo 290000.

This module is pure: it does not import the connector. The gateway reads a connector exception's
fields and hands them to :func:`classify_fields`.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from meshplane.common.errors import PermanentError, TemporaryError
from meshplane.common.snowflake.statements import Plan, Statement

__all__ = [
    "ERROR_CODES",
    "HTTP_STATUS_ERRNO_BASE",
    "MULTI_STATEMENT_FAILED",
    "TRANSIENT_INNER_MESSAGES",
    "ErrorCode",
    "ErrorKind",
    "FailedStatement",
    "PermanentSnowflakeError",
    "SnowflakeGatewayError",
    "TransientSnowflakeError",
    "classify_fields",
    "failed_statement",
    "http_status_of",
]

#: ``ER_HTTP_GENERAL_ERROR`` in the connector: an HTTP failure's errno is this plus the status.
HTTP_STATUS_ERRNO_BASE: Final = 290000

#: A statement of a multi-statement request failed; the inner error is in the message only.
MULTI_STATEMENT_FAILED: Final = 100132

#: Inner messages of a 100132 that are worth retrying, with the code the error has on its own:
#: the texts Snowflake gives these errors (000625, 000630, 000603, 000604), as commonly reported.
TRANSIENT_INNER_MESSAGES: Final[tuple[tuple[str, int], ...]] = (
    ("this lock has not yet been released", 625),
    ("number of waiters for this lock exceeds", 625),
    ("reached its statement or warehouse timeout", 630),
    ("SQL execution internal error", 603),
    ("SQL execution canceled", 604),
)

_FAILED_STATEMENT_RE: Final = re.compile(
    r'failed on statement "(?P<statement>.*?)" \(at line (?P<line>\d+), position (?P<position>\d+)\)\.'
    r"\n?(?P<inner>.*?)(?: in SYSTEM\$MULTISTMT at |\Z)",
    re.DOTALL,
)


@dataclass(frozen=True, slots=True)
class FailedStatement:
    """Where a multi-statement request failed (1-based line of the request) and the inner message."""

    line: int
    position: int
    statement: str
    message: str


def failed_statement(message: str) -> FailedStatement | None:
    """Read a 100132 message: which statement failed (by line) and the inner error's message."""
    match = _FAILED_STATEMENT_RE.search(message)
    if match is None:
        return None
    return FailedStatement(
        line=int(match.group("line")),
        position=int(match.group("position")),
        statement=match.group("statement"),
        message=match.group("inner").strip(),
    )


# A message of megabytes helps nobody in an audit event or a log line.
_MESSAGE_LIMIT: Final = 2000


class ErrorKind(enum.Enum):
    TRANSIENT = "transient"
    #: Transient, and the session is gone: log in again before retrying.
    SESSION = "session"
    PERMANENT = "permanent"


@dataclass(frozen=True, slots=True)
class ErrorCode:
    kind: ErrorKind
    meaning: str


_T, _S, _P = ErrorKind.TRANSIENT, ErrorKind.SESSION, ErrorKind.PERMANENT

#: Every errno the mesh knows, with what it means and what to do about it.
ERROR_CODES: Final[Mapping[int, ErrorCode]] = MappingProxyType(
    {
        # --- Snowflake server errors -----------------------------------------------------------
        603: ErrorCode(_T, "000603 (XX000) SQL execution internal error: Snowflake asks clients to retry"),
        604: ErrorCode(_T, "000604 (57014) SQL execution canceled, e.g. by the client's timeout"),
        606: ErrorCode(_P, "000606 (57P03) no active warehouse selected in the session: configuration"),
        625: ErrorCode(
            _T, "000625 (57014) statement aborted: more than 20 statements were waiting for the same lock"
        ),
        630: ErrorCode(
            _T, "000630 (57014) statement reached its statement or warehouse timeout (queued or lock wait)"
        ),
        904: ErrorCode(_P, "000904 (42000) invalid identifier"),
        1003: ErrorCode(_P, "001003 (42000) SQL compilation error: syntax error"),
        2002: ErrorCode(_P, "002002 (42710) object already exists"),
        2003: ErrorCode(_P, "002003 (02000) object does not exist or not authorized"),
        2043: ErrorCode(_P, "002043 (02000) object does not exist, or operation cannot be performed"),
        2140: ErrorCode(_P, "002140 (42601) unknown function"),
        3001: ErrorCode(_P, "003001 (42501) insufficient privileges to operate on the object"),
        3013: ErrorCode(_P, "003013 (42501) requested role is not assigned to the executing user"),
        MULTI_STATEMENT_FAILED: ErrorCode(
            _P, "100132 (P0000) a statement of a multi-statement request failed: see its inner message"
        ),
        # --- Login and session (the 3901xx codes) ----------------------------------------------
        390100: ErrorCode(_P, "390100 (08004) incorrect username or password"),
        390111: ErrorCode(_S, "390111 (08001) session no longer exists; a new login is required"),
        390112: ErrorCode(_S, "390112 (08001) session expired (the connector renews it when it can)"),
        390113: ErrorCode(_S, "390113 (08001) master token not found"),
        390114: ErrorCode(_S, "390114 (08001) authentication token expired; the user must log in again"),
        390115: ErrorCode(_S, "390115 (08001) master token invalid"),
        390144: ErrorCode(_P, "390144 (08004) JWT token invalid: key pair or user's public key wrong"),
        # --- The connector's own errors (snowflake/connector/errorcode.py) -------------------
        250001: ErrorCode(_T, "250001 could not connect to the Snowflake backend (network)"),
        250002: ErrorCode(_S, "250002 connection is closed"),
        250003: ErrorCode(_T, "250003 HTTP request failed after the connector's retries (network)"),
        251001: ErrorCode(_P, "251001 no account name: configuration"),
        251005: ErrorCode(_P, "251005 no user: configuration"),
        251006: ErrorCode(_P, "251006 no password: configuration"),
        251007: ErrorCode(_P, "251007 invalid connection parameter value: configuration"),
        251008: ErrorCode(_P, "251008 invalid private key: configuration"),
        251011: ErrorCode(_T, "251011 connection timeout during login"),
        251012: ErrorCode(_T, "251012 login request failed with a retryable error"),
        252004: ErrorCode(_P, "252004 failed processing pyformat parameters: a value could not be bound"),
        252007: ErrorCode(_S, "252007 failed to renew the session"),
        252010: ErrorCode(_T, "252010 result chunk download failed"),
        252013: ErrorCode(_T, "252013 incomplete result chunk"),
    }
)

#: HTTP statuses worth retrying: request timeout, too many requests, and server-side failures
#: (every 5xx). 401 means the session token is no longer accepted (snowlocal answers so after a
#: restart): log in again. Others (400 bad request, 403 network policy, 404, 405) will not change
#: on their own.
_TRANSIENT_HTTP: Final = frozenset({408, 429})
_SESSION_HTTP: Final = frozenset({401})


def http_status_of(errno: int | None) -> int | None:
    """The HTTP status behind a connector errno of the ``290000 + status`` family, if it is one."""
    if errno is None or errno < HTTP_STATUS_ERRNO_BASE:
        return None
    status = errno % HTTP_STATUS_ERRNO_BASE
    return status if 100 <= status <= 599 else None


class SnowflakeGatewayError(Exception):
    """Snowflake refused or failed the work; see :class:`TransientSnowflakeError` and
    :class:`PermanentSnowflakeError`.

    ``statement_index`` is the position in the plan of the statement that failed, when the
    gateway could tell; ``reconnect`` says the session is gone and a new login is needed;
    ``plan`` is the plan that failed (set by the gateway), so that an audit event can list the
    statements that ran before the failure (:attr:`ran_before`).
    """

    transient: bool = False
    plan: Plan | None = None

    def __init__(
        self,
        message: str,
        *,
        errno: int | None = None,
        sqlstate: str | None = None,
        query_id: str | None = None,
        reconnect: bool = False,
        statement_index: int | None = None,
    ) -> None:
        if len(message) > _MESSAGE_LIMIT:
            message = f"{message[:_MESSAGE_LIMIT]}… ({len(message)} characters)"
        self.message = message
        self.errno = errno
        self.sqlstate = sqlstate
        self.query_id = query_id
        self.reconnect = reconnect
        self.statement_index = statement_index
        super().__init__(message)

    @property
    def ran_before(self) -> tuple[Statement, ...]:
        """The statements of :attr:`plan` that ran before the one that failed (none when unknown)."""
        if self.plan is None or self.statement_index is None:
            return ()
        return self.plan.statements[: self.statement_index]

    @property
    def http_status(self) -> int | None:
        return http_status_of(self.errno)

    @property
    def meaning(self) -> str | None:
        """What the errno means, from :data:`ERROR_CODES` (or the HTTP status), if known."""
        known = None if self.errno is None else ERROR_CODES.get(self.errno)
        if known is not None:
            return known.meaning
        status = self.http_status
        return None if status is None else f"HTTP {status}"

    def __str__(self) -> str:
        head = ""
        if self.errno is not None:
            head = f"{self.errno:06d}" + (f" ({self.sqlstate})" if self.sqlstate else "") + ": "
        tail = ""
        if self.statement_index is not None:
            tail += f" [statement {self.statement_index}]"
        if self.query_id:
            tail += f" [query {self.query_id}]"
        return f"{head}{self.message}{tail}"


class TransientSnowflakeError(SnowflakeGatewayError, TemporaryError):
    """May succeed later: retry with backoff (the gateway has already logged in again if needed)."""

    transient = True


class PermanentSnowflakeError(SnowflakeGatewayError, PermanentError):
    """Will fail the same way again: report it (``audit.…failed``) and move on."""

    transient = False


def _kind(errno: int | None, sqlstate: str | None, *, network: bool, message: str = "") -> ErrorKind:
    if errno == MULTI_STATEMENT_FAILED:
        inner = failed_statement(message)
        text = inner.message if inner is not None else message
        transient = any(pattern in text for pattern, _code in TRANSIENT_INNER_MESSAGES)
        return ErrorKind.TRANSIENT if transient else ErrorKind.PERMANENT
    known = None if errno is None else ERROR_CODES.get(errno)
    if known is not None:
        return known.kind
    status = http_status_of(errno)
    if status is not None:
        if status in _SESSION_HTTP:
            return ErrorKind.SESSION
        return ErrorKind.TRANSIENT if status in _TRANSIENT_HTTP or status >= 500 else ErrorKind.PERMANENT
    if sqlstate:
        # SQLSTATE classes: 08 connection exception (but 08004, "server rejected the connection",
        # is a refused login), 40 transaction rollback (serialization failure, deadlock).
        if sqlstate.startswith("08") and sqlstate != "08004":
            return ErrorKind.TRANSIENT
        if sqlstate.startswith("40"):
            return ErrorKind.TRANSIENT
    # No code we know: an OperationalError without an errno, or a socket error, is the network.
    return ErrorKind.TRANSIENT if network and errno is None else ErrorKind.PERMANENT


def classify_fields(
    message: str,
    *,
    errno: int | None,
    sqlstate: str | None,
    query_id: str | None = None,
    network: bool = False,
    statement_index: int | None = None,
) -> SnowflakeGatewayError:
    """Sort an error, given the fields the connector reported, into transient or permanent.

    ``network`` says the exception's type marks it as an operational (connection) failure, which
    decides the case of an error without any errno.
    """
    kind = _kind(errno, sqlstate, network=network, message=message)
    error_type = PermanentSnowflakeError if kind is ErrorKind.PERMANENT else TransientSnowflakeError
    if errno == MULTI_STATEMENT_FAILED and (inner := failed_statement(message)) is not None:
        # The inner error is what a person needs; where it happened becomes statement_index.
        message = f"{inner.message} (statement at line {inner.line} of the request)"
    return error_type(
        message,
        errno=errno,
        sqlstate=sqlstate,
        query_id=query_id,
        reconnect=kind is ErrorKind.SESSION,
        statement_index=statement_index,
    )
