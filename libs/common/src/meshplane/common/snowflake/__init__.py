"""Meshplane's Snowflake work: names, statements and plans, the gateway that runs them, its errors.

Planners import from here freely: ``identifiers``, ``statements``, ``results`` and ``errors`` are
pure. The gateway (and so ``snowflake.connector``) is imported only when ``SnowflakeGateway`` or
``classify`` is first used, so a pure planner never pays for, or depends on, the connector.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from meshplane.common.snowflake.errors import (
    ERROR_CODES,
    ErrorKind,
    PermanentSnowflakeError,
    SnowflakeGatewayError,
    TransientSnowflakeError,
)
from meshplane.common.snowflake.identifiers import (
    IDENTIFIER_MAX_LENGTH,
    UnsafeIdentifierError,
    canonical_identifier,
    is_safe_identifier,
    qualified_name,
    quote_identifier,
)
from meshplane.common.snowflake.ports import SnowflakePort
from meshplane.common.snowflake.results import PlanResult, Row, StatementResult
from meshplane.common.snowflake.statements import ParamValue, Plan, Statement

if TYPE_CHECKING:
    from meshplane.common.snowflake.gateway import SnowflakeGateway, classify

__all__ = [
    "ERROR_CODES",
    "IDENTIFIER_MAX_LENGTH",
    "ErrorKind",
    "ParamValue",
    "PermanentSnowflakeError",
    "Plan",
    "PlanResult",
    "Row",
    "SnowflakeGateway",
    "SnowflakeGatewayError",
    "SnowflakePort",
    "Statement",
    "StatementResult",
    "TransientSnowflakeError",
    "UnsafeIdentifierError",
    "canonical_identifier",
    "classify",
    "is_safe_identifier",
    "qualified_name",
    "quote_identifier",
]

_LAZY = frozenset({"SnowflakeGateway", "classify"})


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from meshplane.common.snowflake import gateway

        return getattr(gateway, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
