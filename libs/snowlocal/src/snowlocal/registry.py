"""Which module handles a statement, by its leading keywords.

Account statements (roles, grants, warehouses, tags, ...) are parsed and run by snowlocal; a
handler may decline (return None) so that a statement it only partly owns, such as
`ALTER TABLE ... ADD COLUMN`, goes on to fakesnow.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from snowlocal.engine import Context
    from snowlocal.tokens import TokenCursor

Handler = Callable[["Context", "TokenCursor"], Any]

_HANDLERS: dict[tuple[str, ...], Handler] = {}
# Words between CREATE and the object kind that do not change which handler applies.
_CREATE_MODIFIERS = {
    "OR",
    "REPLACE",
    "SECURE",
    "TRANSIENT",
    "TEMPORARY",
    "TEMP",
    "LOCAL",
    "GLOBAL",
    "RECURSIVE",
}


def handles(*words: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        _HANDLERS[words] = handler
        return handler

    return register


def key_words(cursor: TokenCursor, limit: int = 4) -> tuple[str, ...]:
    words: list[str] = []
    i = 0
    while len(words) < limit:
        word = cursor.word(i)
        i += 1
        if word is None:
            break
        if words == ["CREATE"] and word in _CREATE_MODIFIERS:
            continue
        words.append(word)
    return tuple(words)


def find_handler(cursor: TokenCursor) -> Handler | None:
    words = key_words(cursor)
    for n in range(len(words), 0, -1):
        handler = _HANDLERS.get(words[:n])
        if handler is not None:
            return handler
    return None
