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

Some domain names are reserved (:func:`reserved_domain`), because a domain's name becomes a topic
(``mesh.<domain>.<kind>``), a database and the start of account-wide role and warehouse names:

* the mesh's own topics and names: ``audit``, ``deadletter``, ``catalog``, ``mesh``, and
  ``meshplane`` with anything after it (the services' own roles and warehouses are
  ``MESHPLANE_<SERVICE>`` and ``MESHPLANE_<SERVICE>_WH``: a domain ``meshplane_provisioner`` would get
  the provisioner's own warehouse as its ``_WH``, and hand it to its admin role);
* what Snowflake ships or reserves: ``snowflake`` with anything after it (the shared ``SNOWFLAKE``
  database, ``SNOWFLAKE_SAMPLE_DATA``), ``public`` and ``information_schema`` (schema names Snowflake
  creates in every database), and the system roles ``accountadmin``, ``securityadmin``,
  ``useradmin``, ``sysadmin``, ``orgadmin``, ``globalorgadmin``
  (https://docs.snowflake.com/en/user-guide/security-access-control-overview#system-defined-roles).

Product names are not reserved: they appear in no topic, and every object of a product is named
inside its domain (``<DOMAIN>.<PRODUCT>_V<major>``, ``<DOMAIN>__<PRODUCT>_V<major>_READER``).
"""

from __future__ import annotations

import re
from typing import Final

__all__ = [
    "MESH_NAME_MAX_LENGTH",
    "MESH_NAME_PATTERN",
    "MESH_NAME_RULE",
    "RESERVED_DOMAINS",
    "RESERVED_DOMAIN_PREFIXES",
    "is_mesh_name",
    "reserved_domain",
]

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


#: Domain names the mesh or Snowflake has taken (see the module docstring).
RESERVED_DOMAINS: Final = frozenset(
    {
        "audit",
        "deadletter",
        "catalog",
        "mesh",
        "public",
        "information_schema",
        "accountadmin",
        "securityadmin",
        "useradmin",
        "sysadmin",
        "orgadmin",
        "globalorgadmin",
    }
)
#: A domain may be neither one of these nor start with one followed by ``_``.
RESERVED_DOMAIN_PREFIXES: Final = ("meshplane", "snowflake")


def reserved_domain(name: str) -> str | None:
    """Why ``name`` cannot be a domain though it follows the rule, or None when it can."""
    if name in RESERVED_DOMAINS:
        return f"{name!a} is reserved: the mesh or Snowflake uses this name"
    for prefix in RESERVED_DOMAIN_PREFIXES:
        if name == prefix or name.startswith(prefix + "_"):
            return f"{name!a} is reserved: names starting with {prefix!a} belong to the mesh or Snowflake"
    return None
