"""The mesh's rule for domain and product names: written once, used by topics, events and layouts.

Domain and product names are lower case in topics and events (``sales``, ``order_lines``); the
mesh upper-cases them into Snowflake names (``SALES``). The rule: a lower-case ASCII letter first,
then lower-case letters, digits and *single* underscores, not ending in an underscore, at most 32
characters.

Why single underscores: roles live account-wide, so a product's reader role joins its domain and
product into one name, with ``__`` between them (``SALES__ORDERS_V1_READER``). Were ``__`` or a
trailing ``_`` allowed in either name, two products of different domains could get the same role
(with one ``_`` as the separator, domain ``a`` + product ``b_c`` and domain ``a_b`` + product ``c``
both give ``A_B_C``), and a grant meant for one would open the other.

32 characters leaves room for the suffixes of derived names within Snowflake's identifier limit.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["MESH_NAME_MAX_LENGTH", "MESH_NAME_PATTERN", "MESH_NAME_RULE", "is_mesh_name"]

MESH_NAME_MAX_LENGTH: Final = 32
#: The rule as a JSON Schema / pydantic ``pattern`` (the length is a separate ``max_length``).
MESH_NAME_PATTERN: Final = r"^[a-z](?:_?[a-z0-9])*$"
#: The rule in words, for error messages.
MESH_NAME_RULE: Final = "a-z first, then a-z, 0-9 and single underscores, not ending in _, at most 32"

_MESH_NAME_RE: Final = re.compile(r"\A[a-z](?:_?[a-z0-9])*\Z", re.ASCII)


def is_mesh_name(value: object) -> bool:
    """Whether ``value`` is a valid domain or product name."""
    return (
        isinstance(value, str)
        and len(value) <= MESH_NAME_MAX_LENGTH
        and _MESH_NAME_RE.match(value) is not None
    )
