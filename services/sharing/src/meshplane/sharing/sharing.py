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
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from aiokafka.partitioner import murmur2

from meshplane.common.catalog import CatalogSource
from meshplane.common.errors import PermanentError
from meshplane.common.events import (
    ANY_DOMAIN,
    AccessRequested,
    AuditAccessExpired,
    AuditAccessRevoked,
    AuditDriftDetected,
    AuditDriftRepaired,
    CatalogEntry,
    ExecutedStatement,
    ExternalConsumer,
    InputRef,
    InternalConsumer,
    LedgerGrant,
    SharingLedgerEntry,
)
from meshplane.common.events.access_audit import Decision
from meshplane.common.kit import Background
from meshplane.common.layout import product_layout
from meshplane.common.messaging import Cause, Emitter, Outcome, Publication
from meshplane.common.policy import PolicyDecision
from meshplane.common.snowflake.errors import PermanentSnowflakeError
from meshplane.common.snowflake.ports import SnowflakePort
from meshplane.common.snowflake.results import PlanResult
from meshplane.common.snowflake.statements import Plan
from meshplane.sharing.ledger import GrantKey, HeldGrant, grant_key, held_grant, without_grant
from meshplane.sharing.ledger_topic import LedgerSource
from meshplane.sharing.plan import DriftRepair, consumer_name, plan_drift, plan_revoke, show_reader_grants
from meshplane.sharing.policy_input import ACCESS_DECISION, policy_input

__all__ = ["Policy", "Sharing", "is_retired", "ledger_partition"]

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


class Policy(Protocol):
    """The policy engine as sharing asks it: :class:`~meshplane.common.policy.PolicyClient`, or a script."""

    async def decide(self, path: str, input_: dict[str, Any]) -> PolicyDecision: ...


def _utcnow() -> datetime:
    return datetime.now(UTC)


def ledger_partition(product_id: str, partitions: int) -> int:
    """The ledger partition of a product: where Kafka's default partitioner puts its key (murmur2),
    as the producer does when sharing writes the product's entry."""
    return (int(murmur2(product_id.encode())) & 0x7FFFFFFF) % partitions


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
        drift_seconds: float = 300.0,
        domains: str = ANY_DOMAIN,
        clock: Clock = _utcnow,
    ) -> None:
        self.gateway = gateway
        self.policy = policy
        self.catalog = catalog
        self.ledger = ledger
        self.emitter = emitter
        self.sweep_limit = sweep_limit
        self.drift_seconds = drift_seconds
        #: The domains this deployment serves (``MESH_SHARING_DOMAINS``): drift is looked for on theirs only.
        self.domains = re.compile(domains)
        self.clock = clock
        self._drift_checked: float | None = None
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

    async def sweep(self, partitions: frozenset[int], partition_count: int | None = None) -> int:
        """Revoke what was retired or has expired among the products of ``partitions``, and every
        ``drift_seconds`` repair drift on them (when ``partition_count`` says how to find them);
        return how many grants were ended or reader roles repaired."""
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
        drift_due = (
            self._drift_checked is None or time.monotonic() - self._drift_checked >= self.drift_seconds
        )
        if partition_count and drift_due:
            self._drift_checked = time.monotonic()
            ended += await self.repair_drift(partitions, partition_count)
        return ended

    async def repair_drift(self, partitions: frozenset[int], partition_count: int) -> int:
        """For the active product versions of ``partitions``: who holds the reader role against whom the
        mesh granted it; a difference is audited (detected), undone and audited (repaired).

        One SHOW per active version (no warehouse); products nobody asked for are checked too, so a
        grant added by hand to any reader role is found.
        """
        repaired = 0
        tag = json.dumps({"service": "sharing", "event": "sweep:drift", "trace": None}, separators=(",", ":"))
        for catalog_entry in self.catalog.catalog.entries():
            product_id = catalog_entry.product_id
            partition = ledger_partition(product_id, partition_count)
            if partition not in partitions or not self.domains.fullmatch(catalog_entry.domain):
                continue
            entry = self.ledger.state.entry(product_id)
            for version in catalog_entry.active:
                layout = product_layout(catalog_entry.domain, catalog_entry.product, version.major)
                held = [
                    g.consumer.domain
                    for g in (entry.grants if entry else ())
                    if g.major == version.major and isinstance(g.consumer, InternalConsumer)
                ]
                try:
                    holders = await self.gateway.query(show_reader_grants(layout), tag)
                except PermanentSnowflakeError as error:  # the role is gone: the provisioner's concern
                    log.warning("could not read who holds %s: %s", layout.reader_role, error)
                    continue
                repair = plan_drift(layout, held, holders)
                if not repair.drift:
                    continue
                result = await self.run(repair.plan, tag)
                await self._announce_drift(catalog_entry, version.major, partition, repair, result)
                repaired += 1
        return repaired

    async def _announce_drift(
        self, product: CatalogEntry, major: int, partition: int, repair: DriftRepair, result: PlanResult
    ) -> None:
        checked = self.clock().isoformat()
        cause_id = f"drift/{product.product_id}/v{major}/{checked}"
        where = InputRef(
            id=cause_id,
            type="meshplane.sharing.drift-check",
            topic=self.ledger.topic,
            partition=partition,
            offset=0,
        )
        common = {
            "service": self.emitter.service,
            "input": where,
            "domain": product.domain,
            "product": product.product,
            "major": major,
            "drift": repair.drift,
        }
        cause = Cause(id=cause_id, digest=None, chain_id=cause_id)
        detected = Outcome.done("drift-detected", AuditDriftDetected(**common))
        repaired = Outcome.done(
            "drift-repaired", AuditDriftRepaired(**common, statements=ExecutedStatement.of_result(result))
        )
        await self.emitter.emit([(detected, cause), (repaired, cause)])
        log.warning(
            "repaired drift on %s v%d: %s", product.product_id, major, [d.grantee for d in repair.drift]
        )

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
