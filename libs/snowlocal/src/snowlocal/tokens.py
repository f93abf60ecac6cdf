"""A cursor over one statement's tokens, for the statements snowlocal parses itself.

sqlglot's Snowflake tokenizer does the lexing (quoted identifiers, strings, `$$` blocks, comments),
so names and literals are read exactly as Snowflake reads them; this module adds the small
recursive-descent helpers the account statements need. Identifier rules follow
https://docs.snowflake.com/en/sql-reference/identifiers-syntax : unquoted names are stored upper
case, quoted names keep their case.
"""

from __future__ import annotations

import re

from sqlglot.dialects.snowflake import Snowflake
from sqlglot.tokenizer_core import Token, TokenType

from snowlocal.errors import SnowflakeError, syntax_error

_TOKENIZER = Snowflake().tokenizer_class()
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*\Z")
_NOT_WORDS = {TokenType.IDENTIFIER, TokenType.STRING, TokenType.RAW_STRING, TokenType.NUMBER}


def tokenize(sql: str) -> list[Token]:
    try:
        return _TOKENIZER.tokenize(sql)
    except Exception as exc:  # sqlglot raises TokenError for unterminated strings and the like
        raise syntax_error(str(exc).splitlines()[0]) from None


def statement_spans(sql: str) -> list[tuple[int, int]]:
    """Where each statement of a multi-statement request starts and ends in ``sql`` (end exclusive)."""
    spans: list[tuple[int, int]] = []
    start: int | None = None
    end = 0
    for token in tokenize(sql):
        if token.token_type == TokenType.SEMICOLON:
            if start is not None:
                spans.append((start, end + 1))
            start = None
            continue
        if start is None:
            start = token.start
        end = token.end
    if start is not None:
        spans.append((start, end + 1))
    return spans


def split_statements(sql: str) -> list[str]:
    """The statements of a multi-statement request, in order, as their original text."""
    return [sql[start:end] for start, end in statement_spans(sql)]


def is_word(token: Token) -> bool:
    return token.token_type not in _NOT_WORDS and bool(_WORD.match(token.text))


class TokenCursor:
    """Reads one statement left to right; every `expect_*` raises Snowflake's syntax error."""

    def __init__(self, sql: str, tokens: list[Token] | None = None) -> None:
        self.sql = sql
        self.tokens = tokens if tokens is not None else tokenize(sql)
        self.pos = 0

    # -- looking ---------------------------------------------------------------------------
    def at_end(self) -> bool:
        return self.pos >= len(self.tokens)

    def word(self, offset: int = 0) -> str | None:
        """The upper-cased keyword at pos+offset, or None when that token is not a bare word."""
        i = self.pos + offset
        if i >= len(self.tokens) or not is_word(self.tokens[i]):
            return None
        return self.tokens[i].text.upper()

    def words_ahead(self, n: int) -> list[str | None]:
        return [self.word(i) for i in range(n)]

    def peek(self, *words: str) -> bool:
        return all(self.word(i) == w for i, w in enumerate(words))

    def contains_words(self, *words: str) -> bool:
        """Whether the words appear consecutively anywhere from here on."""
        upper = [t.text.upper() if is_word(t) else None for t in self.tokens[self.pos :]]
        n = len(words)
        return any(tuple(upper[i : i + n]) == words for i in range(len(upper) - n + 1))

    def peek_type(self, token_type: TokenType) -> bool:
        return not self.at_end() and self.tokens[self.pos].token_type == token_type

    # -- consuming -------------------------------------------------------------------------
    def accept(self, *words: str) -> bool:
        if self.peek(*words):
            self.pos += len(words)
            return True
        return False

    def expect(self, *words: str) -> None:
        if not self.accept(*words):
            raise self.error(" ".join(words))

    def accept_type(self, token_type: TokenType) -> Token | None:
        if self.peek_type(token_type):
            token = self.tokens[self.pos]
            self.pos += 1
            return token
        return None

    def expect_type(self, token_type: TokenType, what: str) -> Token:
        token = self.accept_type(token_type)
        if token is None:
            raise self.error(what)
        return token

    def expect_word(self) -> str:
        found = self.word()
        if found is None:
            raise self.error("a keyword")
        self.pos += 1
        return found

    def name_part(self) -> str:
        """One identifier: quoted keeps its case, unquoted is upper-cased."""
        if self.at_end():
            raise self.error("an identifier")
        token = self.tokens[self.pos]
        if token.token_type == TokenType.IDENTIFIER:
            self.pos += 1
            if not token.text:
                raise syntax_error("Empty identifier.")
            return token.text
        if is_word(token):
            self.pos += 1
            return token.text.upper()
        raise self.error("an identifier")

    def qualified_name(self) -> tuple[str, ...]:
        parts = [self.name_part()]
        while self.accept_type(TokenType.DOT):
            parts.append(self.name_part())
        return tuple(parts)

    def string(self) -> str:
        token = self.accept_type(TokenType.STRING) or self.accept_type(TokenType.RAW_STRING)
        if token is None:
            raise self.error("a string literal")
        return token.text

    def string_or_name(self) -> str:
        if self.peek_type(TokenType.STRING) or self.peek_type(TokenType.RAW_STRING):
            return self.string()
        return self.name_part()

    def number(self) -> int:
        token = self.expect_type(TokenType.NUMBER, "a number")
        return int(token.text)

    def equals(self) -> None:
        self.accept_type(TokenType.EQ)

    def value(self) -> str | int | bool:
        """A property value: string, number, TRUE/FALSE, or a bare word (e.g. XSMALL)."""
        if self.peek_type(TokenType.STRING) or self.peek_type(TokenType.RAW_STRING):
            return self.string()
        if self.peek_type(TokenType.NUMBER):
            return self.number()
        if self.peek_type(TokenType.IDENTIFIER):
            return self.name_part()
        word = self.expect_word()
        if word in ("TRUE", "FALSE"):
            return word == "TRUE"
        return word

    def rest(self) -> str:
        """The original text from here to the end of the statement."""
        if self.at_end():
            return ""
        return self.sql[self.tokens[self.pos].start :]

    def skip_to_end(self) -> None:
        self.pos = len(self.tokens)

    def expect_end(self) -> None:
        if not self.at_end():
            raise self.error("end of statement")

    def error(self, expected: str) -> SnowflakeError:
        if self.at_end():
            return syntax_error(f"syntax error: unexpected end of statement, expecting {expected}.")
        token = self.tokens[self.pos]
        where = f"line {token.line} at position {token.col}"
        return syntax_error(f"syntax error {where} unexpected '{token.text}', expecting {expected}.")
