"""The mesh's naming rule for Snowflake objects, and the one helper that quotes a name into SQL.

Every database, schema, table, role, warehouse, tag or policy name that reaches SQL text goes
through :func:`quote_identifier` (or :func:`qualified_name`, which is built on it). Names come
from events that other systems publish, so they are hostile until proven otherwise: a name is
checked against the rule *before* any SQL exists, and a name that fails is refused with
:class:`UnsafeIdentifierError` — never repaired, trimmed or normalised into something else.

The rule: ASCII letters, digits and underscores; starts with a letter; 1 to 64 characters.

Case. Snowflake folds *unquoted* identifiers to upper case and keeps *quoted* ones as written
(https://docs.snowflake.com/en/sql-reference/identifiers-syntax). The mesh always quotes, so that
a name which happens to be a reserved word (``ORDER``, ``TABLE``…) still works, and it upper-cases
the name first, so that the quoted form names exactly the object the unquoted form would:
``sales`` → ``"SALES"``, the same object as ``CREATE DATABASE sales`` creates. Names are therefore
case-insensitive in the mesh, as they are for anyone typing them unquoted into a worksheet, and
what SHOW returns (upper case) compares equal to :func:`canonical_identifier` of the event's name.
The result is the same whatever the account's ``QUOTED_IDENTIFIERS_IGNORE_CASE`` says, since an
upper-case quoted name is unchanged by that parameter's folding.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Final

__all__ = [
    "ACCOUNT_PATTERN",
    "IDENTIFIER_MAX_LENGTH",
    "UnsafeIdentifierError",
    "canonical_account",
    "canonical_identifier",
    "is_safe_identifier",
    "qualified_name",
    "quote_identifier",
]

#: The mesh's limit. Snowflake itself allows 255 characters; the mesh keeps names short enough
#: that derived names (``<DOMAIN>_<PRODUCT>_READER``) stay within Snowflake's limit.
IDENTIFIER_MAX_LENGTH: Final = 64

# The authority on what is allowed. ``\A`` and ``\Z`` anchor at the true ends of the string
# (``$`` would also match before a trailing newline). ``re.ASCII`` and explicit ranges, never
# ``\w`` or ``re.IGNORECASE``: under Unicode case folding ``[a-z]`` also matches the Kelvin sign
# (U+212A) and the long s (U+017F).
_IDENTIFIER_RE: Final = re.compile(r"\A[A-Za-z][A-Za-z0-9_]{0,63}\Z", re.ASCII)

# How much of a refused value an error message repeats. Values come from outside and may be
# megabytes long; the message needs to identify the value, not reproduce it.
_PREVIEW_CHARS: Final = 40


class UnsafeIdentifierError(ValueError):
    """A name that does not follow the mesh's naming rule, refused before any SQL was built.

    ``reason`` says what was wrong in words; ``preview`` is a short, ASCII-escaped prefix of the
    value, safe to log (control characters and look-alike letters appear as escapes).
    """

    def __init__(self, value: object, reason: str) -> None:
        self.reason = reason
        self.preview = _preview(value)
        super().__init__(f"unsafe identifier {self.preview}: {reason}")


def _preview(value: object) -> str:
    if not isinstance(value, str):
        return f"<{type(value).__name__}>"
    if len(value) <= _PREVIEW_CHARS:
        return ascii(value)
    return f"{value[:_PREVIEW_CHARS]!a}… ({len(value)} characters)"


def _describe_char(ch: str) -> str:
    name = unicodedata.name(ch, "unnamed character")
    return f"U+{ord(ch):04X} {name}"


def _reason(name: str) -> str:
    """Say precisely why ``name`` breaks the rule (only called once the regex has refused it)."""
    if not name:
        return "is empty"
    if len(name) > IDENTIFIER_MAX_LENGTH:
        return f"is {len(name)} characters long; at most {IDENTIFIER_MAX_LENGTH} are allowed"
    for position, ch in enumerate(name):
        if not ch.isascii():
            return f"contains the non-ASCII character {_describe_char(ch)} at position {position}"
    if not ("A" <= name[0] <= "Z" or "a" <= name[0] <= "z"):
        return f"must start with an ASCII letter, not {_describe_char(name[0])}"
    for position, ch in enumerate(name):
        if not (ch.isalnum() or ch == "_"):
            return (
                f"contains {_describe_char(ch)} at position {position}; "
                "only ASCII letters, digits and underscores are allowed"
            )
    return "does not match the naming rule"  # pragma: no cover - the checks above are exhaustive


def canonical_identifier(name: str) -> str:
    """Check ``name`` against the naming rule and return its canonical (upper-case) form.

    Raises :class:`UnsafeIdentifierError` if the name breaks the rule.
    """
    if not isinstance(name, str):
        raise UnsafeIdentifierError(name, "is not a string")
    return _canonical(name)


# One plan names the same domain, schema and roles dozens of times, and a service sees the same
# few names event after event: checking each once is a large part of planning's cost. Only names
# that pass are remembered (a refusal raises, and lru_cache keeps no exceptions), and a passing
# name is at most 64 characters, so the cache stays small.
@functools.lru_cache(maxsize=4096)
def _canonical(name: str) -> str:
    # isascii() first: it refuses every look-alike (Cyrillic a U+0430, fullwidth A U+FF21,
    # zero-width joiners, the Turkish dotless i U+0131) before upper() could touch any of them.
    if not name.isascii() or _IDENTIFIER_RE.match(name) is None:
        raise UnsafeIdentifierError(name, _reason(name))
    return name.upper()


def is_safe_identifier(name: object) -> bool:
    """Whether ``name`` follows the naming rule (for validators that want a yes or no)."""
    return isinstance(name, str) and name.isascii() and _IDENTIFIER_RE.match(name) is not None


def quote_identifier(name: str) -> str:
    """Validate ``name``, canonicalise it to upper case and return it as a quoted identifier.

    >>> quote_identifier("sales")
    '"SALES"'
    """
    if not isinstance(name, str):
        raise UnsafeIdentifierError(name, "is not a string")
    return _quoted(name)


@functools.lru_cache(maxsize=4096)
def _quoted(name: str) -> str:
    canonical = _canonical(name)
    # After validation no double quote can be present; doubling them anyway (Snowflake's escape
    # inside a quoted identifier) keeps this helper safe even if the rule is ever loosened.
    return '"' + canonical.replace('"', '""') + '"'


def qualified_name(*parts: str) -> str:
    """A qualified object name, ``"DB"."SCHEMA"."OBJECT"``, from one to three validated parts."""
    if not 1 <= len(parts) <= 3:
        raise ValueError(f"a qualified name has 1 to 3 parts (database, schema, object), got {len(parts)}")
    return ".".join(quote_identifier(part) for part in parts)


#: ``ORG.ACCOUNT``: an organization name and an account name, each a letter then letters, digits
#: and underscores (https://docs.snowflake.com/en/user-guide/admin-account-identifier , "Format 1
#: (preferred): Account name in your organization"). A pattern string, for pydantic's ``Field``.
ACCOUNT_PATTERN: Final = r"^[A-Za-z][A-Za-z0-9_]{0,254}\.[A-Za-z][A-Za-z0-9_]{0,254}$"
_ACCOUNT_RE: Final = re.compile(r"\A[A-Za-z][A-Za-z0-9_]{0,254}\.[A-Za-z][A-Za-z0-9_]{0,254}\Z", re.ASCII)


def canonical_account(account: str) -> str:
    """An outside account's ``ORG.ACCOUNT`` in upper case, or :class:`UnsafeIdentifierError`.

    Written unquoted into SQL (``ALTER SHARE … ADD ACCOUNTS = ORG.ACCOUNT``, the documented form):
    the pattern leaves no character that could end the name or start another clause.
    """
    if not isinstance(account, str) or not account.isascii() or _ACCOUNT_RE.match(account) is None:
        raise UnsafeIdentifierError(
            account, "is not an outside account named ORG.ACCOUNT (letters, digits, _)"
        )
    return account.upper()
