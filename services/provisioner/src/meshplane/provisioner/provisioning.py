"""The provisioner's service layer: observe → plan → execute for one product, remembering ready domains.

Round trips: a product in a domain the provisioner has seen fully set up costs one request (its
plan); a new domain costs two (SHOW, then the plan); an update of an existing product reads the
product's columns too. When a remembered domain turns out to be gone (someone dropped it by hand)
the plan fails; the domain is forgotten and the event is planned once more from what SHOW says.
A failure of that second plan is the handler's to report.

Handlers call :meth:`Provisioning.apply` with a planner (a pure function of what was observed)
and get back what was observed, what ran, and the round trips it took.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from meshplane.common.catalog import CatalogSource
from meshplane.common.errors import PermanentError
from meshplane.common.events import CATALOG_TOPIC, CatalogEntry, MeshContract
from meshplane.common.messaging import Publication
from meshplane.common.snowflake.errors import PermanentSnowflakeError
from meshplane.common.snowflake.ports import SnowflakePort
from meshplane.common.snowflake.results import PlanResult, Requests
from meshplane.common.snowflake.statements import Plan, Statement
from meshplane.provisioner.observe import ASSUME_DOMAIN_READY, Observed, observe

__all__ = ["Applied", "Provisioning"]

log = logging.getLogger(__name__)

#: Whether the account has masking policies (Enterprise Edition or higher): a metadata read that
#: fails with "Unsupported feature" where they are missing. Snowflake documents no SQL that tells an
#: ordinary role the edition; this error is what users report from Standard Edition accounts.
EDITION_PROBE: Final = Plan.of(
    "are masking policies available (Enterprise Edition)?",
    Statement("SHOW MASKING POLICIES LIKE %(name)s IN ACCOUNT", {"name": "MESHPLANE_EDITION_PROBE"}),
)
#: A request Snowflake refused: one POST, answered with the error.
_REFUSED_REQUEST: Final = Requests(round_trips=1, http=1)
#: A planner, bound to its event: what to run, given what exists.
Planner = Callable[[Observed], Plan]


@dataclass(frozen=True)
class Applied:
    """What :meth:`Provisioning.apply` saw and did, and what it cost in requests to Snowflake."""

    observed: Observed
    result: PlanResult
    requests: Requests


class Provisioning:
    """The provisioner's dependencies: the gateway, its service role, the catalog it writes, and the
    ready domains it remembers."""

    def __init__(self, gateway: SnowflakePort, *, service_role: str, catalog: CatalogSource) -> None:
        self.gateway = gateway
        self.service_role = service_role
        self.catalog = catalog
        self._ready_domains: set[str] = set()
        self._enterprise_checked = False

    async def require_enterprise(self, query_tag: str) -> Requests:
        """Before the first domain plan: refuse clearly, for good, an account without masking policies.

        A domain's masking policies need Enterprise Edition or higher
        (https://docs.snowflake.com/en/user-guide/security-column-intro); on a Standard account the
        domain plan would otherwise fail at its first masking policy, for every new domain.
        """
        if self._enterprise_checked:
            return Requests()
        try:
            result = await self.gateway.execute(EDITION_PROBE, query_tag)
        except PermanentSnowflakeError as error:
            if "Unsupported feature" in error.message:
                raise PermanentError(
                    "this Snowflake account has no masking policies (Standard Edition?): a domain's PII "
                    "masking needs Enterprise Edition or higher; `meshctl doctor` checks an account"
                ) from error
            raise
        self._enterprise_checked = True
        return result.requests

    def catalogued(self, entry: CatalogEntry) -> Publication:
        """The entry to write to the catalog, remembered here at once (this replica reads its own writes)."""
        self.catalog.remember(entry)
        return Publication(CATALOG_TOPIC, entry)

    def check_inputs(self, contract: MeshContract) -> None:
        """Refuse a contract built from products the catalog does not have (or has only retired)."""
        missing = self.catalog.catalog.missing_inputs(contract.inputs)
        if missing:
            raise PermanentError(
                f"{contract.product_id} is built from {', '.join(missing)}, which the catalog does not "
                "have as an active product: provision the inputs first, or correct customProperties.inputs"
            )

    async def apply(
        self,
        domain: str,
        product: str,
        major: int,
        planner: Planner,
        query_tag: str,
        *,
        observe_first: bool = False,
        readies_domain: bool = True,
    ) -> Applied:
        """Plan with ``planner`` from what exists (or from memory), run the plan, remember the domain.

        ``observe_first``: observe even when the domain is remembered (an update needs the
        product's columns; a retirement needs to know which grants exist). ``readies_domain``: the
        planner sets the domain up when it is not ready, so after its plan the domain is ready.
        """
        remembered = domain in self._ready_domains and not observe_first
        cost = Requests()
        if remembered:
            try:
                result = await self.gateway.execute(planner(ASSUME_DOMAIN_READY), query_tag)
                return Applied(ASSUME_DOMAIN_READY, result, result.requests)
            except PermanentSnowflakeError as error:
                # Remembered as ready, but Snowflake disagrees (dropped by hand?): plan again from SHOW.
                log.warning("domain %s is not as remembered (%s); observing it again", domain, error)
                self._ready_domains.discard(domain)
                cost += _REFUSED_REQUEST
        observed, observing = await observe(self.gateway, domain, product, major, query_tag=query_tag)
        if not observed.domain_ready and readies_domain:
            cost += await self.require_enterprise(query_tag)
        result = await self.gateway.execute(planner(observed), query_tag)
        if readies_domain or observed.domain_ready:
            self._ready_domains.add(domain)
        return Applied(observed, result, cost + observing + result.requests)
