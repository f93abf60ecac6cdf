"""Sharing's service layer: what its handlers and its sweep share.

:class:`Sharing` holds the gateway, the policy engine, the catalog and the ledger, and does the
three things every handler is made of: ask the policy (:meth:`decide`), run a grant or revocation
plan (:meth:`run`), and write a product's new ledger entry (:meth:`recorded`). It also sweeps
(:meth:`sweep`): for the ledger partitions this replica owns (:mod:`.sweep`), every grant on a
retired version, then every grant past its end, is revoked, audited and removed from the ledger,
one product entry at a time, each written before the next grant is touched.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from meshplane.common.catalog import CatalogSource
from meshplane.common.errors import PermanentError
from meshplane.common.events import (
    AccessRequested,
    AuditAccessExpired,
    AuditAccessRevoked,
    CatalogEntry,
    ExecutedStatement,
    ExternalConsumer,
    LedgerGrant,
    SharingLedgerEntry,
)
from meshplane.common.events.access_audit import Decision
from meshplane.common.kit import Background
from meshplane.common.layout import product_layout
from meshplane.common.messaging import Cause, Emitter, Outcome, Publication
from meshplane.common.policy import PolicyDecision
from meshplane.common.snowflake.ports import SnowflakePort
from meshplane.common.snowflake.results import PlanResult
from meshplane.common.snowflake.statements import Plan
from meshplane.sharing.ledger import GrantKey, HeldGrant, grant_key, held_grant, without_grant
from meshplane.sharing.ledger_topic import LedgerSource
from meshplane.sharing.plan import consumer_name, plan_revoke
from meshplane.sharing.policy_input import ACCESS_DECISION, policy_input

__all__ = ["Policy", "Sharing", "is_retired"]

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


class Policy(Protocol):
    """The policy engine as sharing asks it: :class:`~meshplane.common.policy.PolicyClient`, or a script."""

    async def decide(self, path: str, input_: dict[str, Any]) -> PolicyDecision: ...


def _utcnow() -> datetime:
    return datetime.now(UTC)


def is_retired(catalog_entry: CatalogEntry | None, major: int) -> bool:
    """Whether the catalog says the version is retired (a product it does not know is not: the
    catalog may simply not have caught up)."""
    if catalog_entry is None:
        return False
    return any(v.major == major and v.lifecycle == "retired" for v in catalog_entry.versions)


class Sharing:
    def __init__(
        self,
        gateway: SnowflakePort,
        *,
        policy: Policy,
        catalog: CatalogSource,
        ledger: LedgerSource,
        emitter: Emitter,
        sweep_limit: int = 500,
        clock: Clock = _utcnow,
    ) -> None:
        self.gateway = gateway
        self.policy = policy
        self.catalog = catalog
        self.ledger = ledger
        self.emitter = emitter
        self.sweep_limit = sweep_limit
        self.clock = clock
        #: Which ledger partitions this replica sweeps (set by the service declaration; None in tests
        #: that call :meth:`sweep` themselves).
        self.sweeper: Background | None = None

    def entry(self, product_id: str) -> SharingLedgerEntry | None:
        return self.ledger.state.entry(product_id)

    async def decide(self, request: AccessRequested) -> Decision:
        """The policy's decision on ``request``, with the revision of the policy that made it."""
        product_id = request.product_id
        catalog_entry = self.catalog.catalog.get(product_id)
        held = self._held(request)
        decided = await self.policy.decide(ACCESS_DECISION, policy_input(request, catalog_entry, held))
        result = decided.result
        outcome = result.get("outcome")
        if outcome not in ("approve", "deny", "pending"):
            raise PermanentError(f"the access policy answered no outcome for request {request.request_id}")
        return Decision(
            outcome=outcome,
            reason=str(result.get("reason", "")),
            policy_revision=decided.revision,
            approvers=tuple(str(a) for a in result.get("approvers", ())),
            duration_seconds=int(result["duration_seconds"]) if "duration_seconds" in result else None,
        )

    def _held(self, request: AccessRequested) -> HeldGrant | None:
        return self.ledger.state.grants.held(
            GrantKey(request.product_id, request.major, consumer_name(request.consumer))
        )

    async def run(self, plan: Plan, query_tag: str) -> PlanResult:
        return await self.gateway.execute(plan, query_tag)

    def recorded(self, entry: SharingLedgerEntry) -> Publication:
        """The entry to write to the ledger topic, remembered here at once (read your own writes)."""
        self.ledger.remember(entry)
        return Publication(self.ledger.topic, entry)

    # -- the sweep --------------------------------------------------------------------------------

    async def sweep(self, partitions: frozenset[int]) -> int:
        """Revoke what was retired or has expired among the products of ``partitions``; return how many."""
        await self.catalog.caught_up()
        await self.ledger.caught_up()
        state = self.ledger.state
        ended = 0
        for product_id in state.products():
            where = state.recorded(product_id)
            entry = state.entry(product_id)
            if where is None or where.partition not in partitions or entry is None:
                continue
            catalog_entry = self.catalog.catalog.get(product_id)
            for grant in [g for g in entry.grants if is_retired(catalog_entry, g.major)]:
                await self._end(product_id, grant, "retired")
                ended += 1
        now = self.clock()
        for held in state.grants.due(now, self.sweep_limit):
            where = state.recorded(held.key.product_id)
            due = held_grant(state.entry(held.key.product_id), held.key.product_id, held.key)
            if where is None or where.partition not in partitions or due is None:
                continue
            await self._end(held.key.product_id, due, "expired")
            ended += 1
        return ended

    async def _end(self, product_id: str, grant: LedgerGrant, why: str) -> None:
        state = self.ledger.state
        where = state.recorded(product_id)
        assert where is not None
        domain, product = product_id.split(".", 1)
        layout = product_layout(domain, product, grant.major)
        if why == "retired" and not isinstance(grant.consumer, ExternalConsumer):
            # The provisioner dropped the reader role when it retired the version, and its grants
            # with it (https://docs.snowflake.com/en/sql-reference/sql/drop-role): nothing to run.
            statements: tuple[ExecutedStatement, ...] = ()
        else:
            tag = json.dumps(
                {"service": "sharing", "event": f"sweep:{why}", "trace": None}, separators=(",", ":")
            )
            result = await self.run(plan_revoke(layout, grant.consumer), tag)
            statements = ExecutedStatement.of_result(result)
        entry = without_grant(
            state.entry(product_id), product_id, grant_key(product_id, grant), changed_by=f"sweep:{why}"
        )
        common = {
            "service": self.emitter.service,
            "input": where.record,
            "request_id": grant.request_id,
            "domain": domain,
            "product": product,
            "major": grant.major,
            "consumer": grant.consumer,
            "statements": statements,
        }
        if why == "expired":
            audit: AuditAccessExpired | AuditAccessRevoked = AuditAccessExpired(
                **common, expired_at=grant.expires_at
            )
        else:
            audit = AuditAccessRevoked(**common, reason=f"version {grant.major} of {product_id} was retired")
        assert where.record.id is not None
        cause = Cause(
            id=where.record.id,
            digest=f"{why} {grant_key(product_id, grant)} {grant.expires_at.isoformat()}",
            chain_id=grant.request_id,
        )
        await self.emitter.emit([(Outcome.done(why, audit, also=[self.recorded(entry)]), cause)])
        log.info("%s: %s v%d from %s", why, product_id, grant.major, grant.consumer)
