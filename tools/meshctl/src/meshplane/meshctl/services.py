"""The services meshctl knows, by their declarations: what ``meshctl docs`` documents.

meshctl imports of each service only what it needs, and names it here or in ``planning``
(import-linter keeps it so). A new service adds its ``SERVICE`` to :data:`SERVICES`.
"""

from __future__ import annotations

from typing import Any, Final

from meshplane.common.kit import ServiceSpec
from meshplane.provisioner.service import SERVICE as PROVISIONER
from meshplane.sharing.service import SERVICE as SHARING

__all__ = ["SERVICES"]

SERVICES: Final[tuple[ServiceSpec[Any, Any], ...]] = (PROVISIONER, SHARING)
