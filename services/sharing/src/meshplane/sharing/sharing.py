"""Sharing's service layer: what its handlers and its sweep share.

:class:`Sharing` holds the gateway, the policy engine, the catalog and the ledger, and does the
three things every handler is made of: ask the policy (:meth:`decide`), run a grant or revocation
plan (:meth:`run`), and write a product's new ledger entry (:meth:`recorded`). It also sweeps
(:meth:`sweep`): for the ledger partitions this replica owns (:mod:`.sweep`), every grant on a
retired version, then every grant past its end, is revoked, audited and removed from the ledger,
one product entry at a time, each written before the next grant is touched.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final, Protocol

from aiokafka.partitioner import murmur2

from meshplane.common.catalog import CatalogSource
from meshplane.common.errors import PermanentError, TemporaryError
from meshplane.common.events import (
    ANY_DOMAIN,
    AccessRequested,
    AuditAccessExpired,
    AuditAccessFailed,
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
    SnowflakeFailure,
)
from meshplane.common.events.access_audit import Decision
from meshplane.common.kit import Background
from meshplane.common.layout import product_layout
from meshplane.common.messaging import Cause, Emitter, Outcome, Publication
from meshplane.common.policy import PolicyDecision
from meshplane.common.snowflake.errors import PermanentSnowflakeError, SnowflakeGatewayError
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
        self._locks: dict[str, asyncio.Lock] = {}
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

    def product_lock(self, product_id: str) -> asyncio.Lock:
        """Held while one product's record is read, acted on and written: a handler and the sweep of
        this replica never interleave on one product (their awaits would otherwise let one overwrite
        the other's change)."""
        lock = self._locks.get(product_id)
        if lock is None:
            lock = self._locks[product_id] = asyncio.Lock()
        return lock

    # -- the sweep --------------------------------------------------------------------------------

    async def sweep(self, partitions: frozenset[int], partition_count: int | None = None) -> int:
        """Revoke what was retired or has expired among the products of ``partitions``, and every
        ``drift_seconds`` repair drift on them (when ``partition_count`` says how to find them);
        return how many grants were ended or reader roles repaired.

        One grant or product that fails is logged and audited and does not hold up the others.
        """
        await self.catalog.caught_up()
        await self.ledger.caught_up()
        state = self.ledger.state

        def owned(product_id: str) -> bool:
            if partition_count:
                return ledger_partition(product_id, partition_count) in partitions
            where = state.recorded(product_id)
            return where is not None and where.partition in partitions

        ended = 0
        for product_id in state.products():
            entry = state.entry(product_id)
            if entry is None or not owned(product_id):
                continue
            catalog_entry = self.catalog.catalog.get(product_id)
            for grant in [g for g in entry.grants if is_retired(catalog_entry, g.major)]:
                ended += await self._end(product_id, grant, "retired")
        due = state.grants.due(self.clock(), self.sweep_limit, keep=lambda key: owned(key.product_id))
        for held in due:
            expired = held_grant(state.entry(held.key.product_id), held.key.product_id, held.key)
            if expired is not None:
                ended += await self._end(held.key.product_id, expired, "expired")
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
        grant added by hand to any reader role is found. What the mesh holds is read after the SHOW,
        under the product's lock, so a grant made or revoked meanwhile is not taken for drift.
        """
        repaired = 0
        for catalog_entry in self.catalog.catalog.entries():
            product_id = catalog_entry.product_id
            partition = ledger_partition(product_id, partition_count)
            if partition not in partitions or not self.domains.fullmatch(catalog_entry.domain):
                continue
            for version in catalog_entry.active:
                try:
                    repaired += await self._repair_version(catalog_entry, version.major, partition)
                except (SnowflakeGatewayError, TemporaryError) as error:
                    log.warning("drift check of %s v%d failed: %s", product_id, version.major, error)
        return repaired

    async def _repair_version(self, product: CatalogEntry, major: int, partition: int) -> int:
        layout = product_layout(product.domain, product.product, major)
        try:
            holders = await self.gateway.query(show_reader_grants(layout), _SWEEP_TAG["drift"])
        except PermanentSnowflakeError as error:  # the role is gone: the provisioner's concern
            log.warning("could not read who holds %s: %s", layout.reader_role, error)
            return 0
        async with self.product_lock(product.product_id):
            entry = self.ledger.state.entry(product.product_id)
            held = [
                g.consumer.domain
                for g in (entry.grants if entry else ())
                if g.major == major and isinstance(g.consumer, InternalConsumer)
            ]
            repair = plan_drift(layout, held, holders)
            if not repair.drift:
                return 0
            # Announced before it is undone: a crash in between leaves the record of what was found.
            cause_id = _drift_cause(product.product_id, major, repair)
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
            await self.emitter.emit([(Outcome.done("drift-detected", AuditDriftDetected(**common)), cause)])
            result = await self.run(repair.plan, _SWEEP_TAG["drift"])
            repaired = AuditDriftRepaired(**common, statements=ExecutedStatement.of_result(result))
            await self.emitter.emit([(Outcome.done("drift-repaired", repaired), cause)])
        log.warning(
            "repaired drift on %s v%d: %s", product.product_id, major, [d.grantee for d in repair.drift]
        )
        return 1

    async def _end(self, product_id: str, grant: LedgerGrant, why: str) -> int:
        """Revoke ``grant`` (expired, or on a retired version), audit it, write the product's record.

        Under the product's lock, and only if the grant is still held as it was found (a handler may
        have extended it meanwhile). A revocation Snowflake refuses for good is audited as
        ``access.failed`` and the grant leaves the ledger: it cannot be ended by the mesh, and an
        operator must look (the audit says why); a temporary failure leaves it for the next sweep.
        """
        key = grant_key(product_id, grant)
        async with self.product_lock(product_id):
            state = self.ledger.state
            if held_grant(state.entry(product_id), product_id, key) != grant:
                return 0  # extended or revoked since it was found
            where = state.recorded(product_id)
            domain, product = product_id.split(".", 1)
            record = (
                where.record
                if where is not None
                else InputRef(topic=self.ledger.topic, partition=0, offset=0)
            )
            common = {
                "service": self.emitter.service,
                "input": record,
                "request_id": grant.request_id,
                "domain": domain,
                "product": product,
                "major": grant.major,
                "consumer": grant.consumer,
            }
            # Ids from the grant itself (not from whichever record was read last): ending the same
            # grant again, on this replica or the next owner, repeats them.
            cause_id = f"{why}/{key.product_id}/v{key.major}/{key.consumer}/{grant.request_id}"
            cause = Cause(id=cause_id, digest=grant.expires_at.isoformat(), chain_id=grant.request_id)
            try:
                statements = await self._revoke(product_id, grant, why)
            except TemporaryError as error:
                log.warning("%s of %s for %s will be tried again: %s", why, product_id, key.consumer, error)
                return 0
            except SnowflakeGatewayError as error:
                entry = without_grant(state.entry(product_id), product_id, key, changed_by=f"sweep:{why}")
                failed = AuditAccessFailed(
                    **common,
                    reason=f"{why}, but Snowflake refused the revocation: {error}; an operator must check it",
                    failure=SnowflakeFailure.of(error),
                    statements=ExecutedStatement.ran_before(error),
                )
                await self._emit_and_record(Outcome.failed(f"{why}-failed", failed), cause, entry)
                log.error("%s of %s for %s refused: %s", why, product_id, key.consumer, error)
                return 0
            entry = without_grant(state.entry(product_id), product_id, key, changed_by=f"sweep:{why}")
            if why == "expired":
                audit: AuditAccessExpired | AuditAccessRevoked = AuditAccessExpired(
                    **common, statements=statements, expired_at=grant.expires_at
                )
            else:
                audit = AuditAccessRevoked(
                    **common,
                    statements=statements,
                    reason=f"version {grant.major} of {product_id} was retired",
                )
            await self._emit_and_record(Outcome.done(why, audit), cause, entry)
        log.info("%s: %s v%d from %s", why, product_id, grant.major, grant.consumer)
        return 1

    async def _revoke(self, product_id: str, grant: LedgerGrant, why: str) -> tuple[ExecutedStatement, ...]:
        if why == "retired" and not isinstance(grant.consumer, ExternalConsumer):
            # The provisioner dropped the reader role when it retired the version, and its grants
            # with it (https://docs.snowflake.com/en/sql-reference/sql/drop-role): nothing to run.
            return ()
        domain, product = product_id.split(".", 1)
        result = await self.run(
            plan_revoke(product_layout(domain, product, grant.major), grant.consumer), _SWEEP_TAG[why]
        )
        return ExecutedStatement.of_result(result)

    async def _emit_and_record(self, outcome: Outcome, cause: Cause, entry: SharingLedgerEntry) -> None:
        """The audit event and the product's new record, produced together; remembered once delivered."""
        published = Outcome(
            outcome.action, outcome.data, outcome.status, (Publication(self.ledger.topic, entry),)
        )
        await self.emitter.emit([(published, cause)])
        self.ledger.remember(entry)


def _drift_cause(product_id: str, major: int, repair: DriftRepair) -> str:
    """The same drift found again (say, after a crash before it was undone) gets the same ids."""
    found = sorted(f"{d.kind}:{d.grantee}" for d in repair.drift)
    digest = hashlib.sha256("\n".join(found).encode()).hexdigest()[:16]
    return f"drift/{product_id}/v{major}/{digest}"


_SWEEP_TAG: Final = {
    why: json.dumps({"service": "sharing", "event": f"sweep:{why}", "trace": None}, separators=(",", ":"))
    for why in ("expired", "retired", "drift")
}
