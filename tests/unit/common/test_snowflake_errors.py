"""Error classification: connector exceptions, as the connector builds them, sorted into kinds."""

from __future__ import annotations

import pytest
from snowflake.connector import errors as ce
from snowflake.connector.network import get_http_retryable_error

from meshplane.common.snowflake.errors import (
    ERROR_CODES,
    ErrorKind,
    PermanentSnowflakeError,
    SnowflakeGatewayError,
    TransientSnowflakeError,
    classify_fields,
    failed_statement,
    http_status_of,
)
from meshplane.common.snowflake.gateway import classify

# (exception, expected kind) — "session" means transient and a new login first.
TABLE: list[tuple[str, BaseException, ErrorKind]] = [
    # Permanent: retrying changes nothing.
    (
        "002003 does not exist",
        ce.ProgrammingError(msg="x", errno=2003, sqlstate="02000"),
        ErrorKind.PERMANENT,
    ),
    ("003001 privileges", ce.ProgrammingError(msg="x", errno=3001, sqlstate="42501"), ErrorKind.PERMANENT),
    ("001003 syntax", ce.ProgrammingError(msg="x", errno=1003, sqlstate="42000"), ErrorKind.PERMANENT),
    (
        "002002 already exists",
        ce.ProgrammingError(msg="x", errno=2002, sqlstate="42710"),
        ErrorKind.PERMANENT,
    ),
    ("000606 no warehouse", ce.ProgrammingError(msg="x", errno=606, sqlstate="57P03"), ErrorKind.PERMANENT),
    (
        "002043 cannot be performed",
        ce.ProgrammingError(msg="x", errno=2043, sqlstate="02000"),
        ErrorKind.PERMANENT,
    ),
    (
        "000904 invalid identifier",
        ce.ProgrammingError(msg="x", errno=904, sqlstate="42000"),
        ErrorKind.PERMANENT,
    ),
    (
        "003013 role not assigned",
        ce.ProgrammingError(msg="x", errno=3013, sqlstate="42501"),
        ErrorKind.PERMANENT,
    ),
    ("390100 bad password", ce.DatabaseError(msg="x", errno=390100, sqlstate="08004"), ErrorKind.PERMANENT),
    ("390144 bad JWT", ce.DatabaseError(msg="x", errno=390144, sqlstate="08004"), ErrorKind.PERMANENT),
    ("251008 bad key", ce.ProgrammingError(msg="x", errno=251008), ErrorKind.PERMANENT),
    ("HTTP 403", get_http_retryable_error(403), ErrorKind.PERMANENT),
    ("HTTP 400", get_http_retryable_error(400), ErrorKind.PERMANENT),
    ("HTTP 404 raw", ce.HttpError(msg="404 Not Found", errno=290404), ErrorKind.PERMANENT),
    ("unknown errno", ce.ProgrammingError(msg="x", errno=12345, sqlstate="22000"), ErrorKind.PERMANENT),
    ("no errno, not operational", ce.ProgrammingError(msg="x"), ErrorKind.PERMANENT),
    ("not a connector error", KeyError("surprise"), ErrorKind.PERMANENT),
    # Transient: retry with backoff.
    ("000625 lock waiters", ce.ProgrammingError(msg="x", errno=625, sqlstate="57014"), ErrorKind.TRANSIENT),
    ("000630 timeout", ce.ProgrammingError(msg="x", errno=630, sqlstate="57014"), ErrorKind.TRANSIENT),
    ("000604 canceled", ce.ProgrammingError(msg="x", errno=604, sqlstate="57014"), ErrorKind.TRANSIENT),
    ("000603 internal", ce.ProgrammingError(msg="x", errno=603, sqlstate="XX000"), ErrorKind.TRANSIENT),
    ("250001 cannot connect", ce.OperationalError(msg="x", errno=250001), ErrorKind.TRANSIENT),
    ("250003 request failed", ce.OperationalError(msg="x", errno=250003), ErrorKind.TRANSIENT),
    ("251011 login timeout", ce.OperationalError(msg="x", errno=251011), ErrorKind.TRANSIENT),
    ("operational, no errno", ce.OperationalError(msg="connection reset"), ErrorKind.TRANSIENT),
    ("HTTP 429", get_http_retryable_error(429), ErrorKind.TRANSIENT),
    ("HTTP 503", get_http_retryable_error(503), ErrorKind.TRANSIENT),
    ("HTTP 500", get_http_retryable_error(500), ErrorKind.TRANSIENT),
    ("HTTP 504", get_http_retryable_error(504), ErrorKind.TRANSIENT),
    ("HTTP 408", get_http_retryable_error(408), ErrorKind.TRANSIENT),
    ("HTTP 520 other", get_http_retryable_error(520), ErrorKind.TRANSIENT),
    (
        "unknown errno, SQLSTATE 08",
        ce.DatabaseError(msg="x", errno=99999, sqlstate="08006"),
        ErrorKind.TRANSIENT,
    ),
    (
        "unknown errno, SQLSTATE 40",
        ce.ProgrammingError(msg="x", errno=99998, sqlstate="40001"),
        ErrorKind.TRANSIENT,
    ),
    ("socket error", ConnectionResetError("reset by peer"), ErrorKind.TRANSIENT),
    ("timeout", TimeoutError(), ErrorKind.TRANSIENT),
    # Session gone: log in again, then retry.
    ("390114 token expired", ce.ProgrammingError(msg="x", errno=390114, sqlstate="08001"), ErrorKind.SESSION),
    (
        "390112 session expired",
        ce.ProgrammingError(msg="x", errno=390112, sqlstate="08001"),
        ErrorKind.SESSION,
    ),
    ("390111 no session", ce.ProgrammingError(msg="x", errno=390111, sqlstate="08001"), ErrorKind.SESSION),
    (
        "250002 closed",
        ce.DatabaseError(msg="Connection is closed", errno=250002, sqlstate="08003"),
        ErrorKind.SESSION,
    ),
    ("252007 renew failed", ce.ProgrammingError(msg="x", errno=252007), ErrorKind.SESSION),
    (
        "HTTP 401 token refused",
        ce.HttpError(msg="401 Unauthorized: post /queries/v1/query-request", errno=290401, sqlstate="08001"),
        ErrorKind.SESSION,
    ),
]


@pytest.mark.parametrize(
    ("exc", "kind"), [(exc, kind) for _, exc, kind in TABLE], ids=[row[0] for row in TABLE]
)
def test_classification(exc: BaseException, kind: ErrorKind) -> None:
    error = classify(exc)
    expected = PermanentSnowflakeError if kind is ErrorKind.PERMANENT else TransientSnowflakeError
    assert type(error) is expected
    assert error.transient is (kind is not ErrorKind.PERMANENT)
    assert error.reconnect is (kind is ErrorKind.SESSION)


def test_the_fields_snowflake_reported_are_kept() -> None:
    exc = ce.ProgrammingError(
        msg="SQL compilation error:\nDatabase 'NOPE' does not exist or not authorized.",
        errno=2003,
        sqlstate="02000",
        sfqid="01b2-0000-abcd",
    )
    error = classify(exc, statement_index=3)
    assert isinstance(error, SnowflakeGatewayError)
    assert (error.errno, error.sqlstate, error.query_id, error.statement_index) == (
        2003,
        "02000",
        "01b2-0000-abcd",
        3,
    )
    assert error.message == "SQL compilation error:\nDatabase 'NOPE' does not exist or not authorized."
    assert error.meaning is not None
    assert "does not exist or not authorized" in error.meaning
    assert str(error) == (
        "002003 (02000): SQL compilation error:\nDatabase 'NOPE' does not exist or not authorized."
        " [statement 3] [query 01b2-0000-abcd]"
    )


def test_no_errno_and_no_sqlstate_are_none_not_sentinels() -> None:
    error = classify(ce.OperationalError(msg="boom"))
    assert (error.errno, error.sqlstate, error.message) == (None, None, "boom")


def test_http_errors_carry_their_status_even_when_the_connector_re_raised_them() -> None:
    first = get_http_retryable_error(429)
    assert first.errno == 290429
    with pytest.raises(ce.TooManyRequests) as reraised:
        # The path the connector takes once its retries are used up: the base is added again.
        ce.Error.errorhandler_wrapper_from_cause(None, first)  # type: ignore[arg-type]
    assert reraised.value.errno == 580429
    for exc in (first, reraised.value):
        error = classify(exc)
        assert isinstance(error, TransientSnowflakeError)
        assert error.http_status == 429
        assert error.meaning == "HTTP 429"
        assert error.message == "HTTP 429: Too Many Requests"


def test_http_status_of() -> None:
    assert http_status_of(290503) == 503
    assert http_status_of(580503) == 503
    assert http_status_of(2003) is None
    assert http_status_of(None) is None
    assert http_status_of(290000) is None


def test_huge_messages_are_cut() -> None:
    error = classify(ce.ProgrammingError(msg="x" * 1_000_000, errno=1003, sqlstate="42000"))
    assert len(error.message) < 2100


def test_a_gateway_error_passes_through() -> None:
    error = PermanentSnowflakeError("already sorted", errno=2003)
    assert classify(error) is error


def test_every_known_code_has_a_meaning_that_starts_with_it() -> None:
    for errno, code in ERROR_CODES.items():
        assert code.meaning.startswith(f"{errno:06d}"), errno


# The documented example of a failed multi-statement request
# (https://docs.snowflake.com/en/developer-guide/sql-api/submitting-multiple-statements), its inner
# message replaced by the one under test.
def multi_statement_failure(inner: str, line: int = 3) -> str:
    return (
        "JavaScript execution error: Uncaught Execution of multiple statements failed on statement "
        f'"insert into table1 (i) values ..." (at line {line}, position 0).\n{inner} in SYSTEM$MULTISTMT at '
        "'    throw `Execution of multiple statements failed on statement {0} (at line {1}, position {2}).`"
        ".replace('{1}', LINES[i])' position 4\nstackstrace: \nSYSTEM$MULTISTMT line: 10"
    )


def test_a_failed_multi_statement_request_says_where_and_why() -> None:
    found = failed_statement(multi_statement_failure("SQL compilation error:\nTable 'T' does not exist."))
    assert found is not None
    assert (found.line, found.position) == (3, 0)
    assert found.statement == "insert into table1 (i) values ..."
    assert found.message == "SQL compilation error:\nTable 'T' does not exist."


@pytest.mark.parametrize(
    ("inner", "transient"),
    [
        ("SQL compilation error:\nObject 'X' does not exist or not authorized.", False),
        ("SQL access control error:\nInsufficient privileges to operate on schema 'S'", False),
        (
            "Statement 'q1' has locked table 'T' in transaction 1 and this lock has not yet been released. "
            "Your statement 'q2' was aborted because the number of waiters for this lock exceeds the 20 "
            "statements limit.",
            True,
        ),
        ("Statement reached its statement or warehouse timeout of 60 second(s) and was canceled.", True),
        ("SQL execution internal error: Processing aborted due to error 300002:123.", True),
    ],
)
def test_a_100132_is_sorted_by_its_inner_message(inner: str, transient: bool) -> None:
    error = classify_fields(multi_statement_failure(inner), errno=100132, sqlstate="P0000", query_id="parent")
    assert error.transient is transient
    assert (error.errno, error.sqlstate, error.query_id) == (100132, "P0000", "parent")
    assert error.message.startswith(inner.split("\n")[0])
    assert "SYSTEM$MULTISTMT" not in error.message


def test_a_100132_whose_message_cannot_be_read_is_permanent() -> None:
    error = classify_fields("something else entirely", errno=100132, sqlstate="P0000")
    assert not error.transient
    assert failed_statement("something else entirely") is None
