"""The grants the mesh holds and when each ends: what expiry, retirement and drift work from.

Pure and in memory. One :class:`HeldGrant` per (product version, consumer): a new approval for a
grant already held extends it to the later of the two ends, never shortens it (an approval is a
permission, and a shorter second one must not cut the first; a revocation is the way to end
early).

What the sweeps ask must not grow with the number of grants held:

* :meth:`GrantLedger.due` — the grants whose end has passed — reads a heap ordered by end, so it
  costs O(k log n) for k due grants, not a scan of all n;
* :meth:`GrantLedger.on_product` — every grant on a retired version — and
  :meth:`GrantLedger.of_consumer` — what a consumer holds, for the policy's input — read an index.

A grant extended or revoked leaves its old heap entry behind; :meth:`due` skips entries that no
longer match the held grant, and the heap is rebuilt once stale entries outnumber live ones.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from meshplane.common.events import InputRef, LedgerGrant, PendingRequest, SharingLedgerEntry
from meshplane.sharing.plan import consumer_name

__all__ = [
    "GrantKey",
    "GrantLedger",
    "HeldGrant",
    "LedgerState",
    "Recorded",
    "decided_request",
    "grant_key",
    "held_grant",
    "pending_request",
    "with_decided",
    "with_grant",
    "with_pending",
    "without_grant",
]

_IndexKey = TypeVar("_IndexKey")


@dataclass(frozen=True, order=True)
class GrantKey:
    """One consumer's access to one product version (``consumer`` as ``plan.consumer_name`` gives it)."""

    product_id: str  # domain.product
    major: int
    consumer: str


@dataclass(frozen=True)
class HeldGrant:
    key: GrantKey
    expires_at: datetime
    request_id: str
    policy_revision: str


class GrantLedger:
    def __init__(self) -> None:
        self._held: dict[GrantKey, HeldGrant] = {}
        self._by_product: defaultdict[tuple[str, int], set[GrantKey]] = defaultdict(set)
        self._by_consumer: defaultdict[str, set[GrantKey]] = defaultdict(set)
        self._ends: list[tuple[datetime, GrantKey]] = []

    def __len__(self) -> int:
        return len(self._held)

    def held(self, key: GrantKey) -> HeldGrant | None:
        return self._held.get(key)

    def grant(self, grant: HeldGrant) -> HeldGrant:
        """Record ``grant``; a grant already held keeps the later end. Returns what is now held."""
        if grant.expires_at.tzinfo is None:
            raise ValueError("a grant's end is an aware datetime (UTC), never a naive one")
        current = self._held.get(grant.key)
        if current is not None and current.expires_at >= grant.expires_at:
            return current
        self._held[grant.key] = grant
        self._by_product[(grant.key.product_id, grant.key.major)].add(grant.key)
        self._by_consumer[grant.key.consumer].add(grant.key)
        heapq.heappush(self._ends, (grant.expires_at, grant.key))
        self._compact_if_stale()
        return grant

    def revoke(self, key: GrantKey) -> HeldGrant | None:
        """Forget the grant; returns it, or None when it was not held (a revocation may run twice)."""
        grant = self._held.pop(key, None)
        if grant is None:
            return None
        self._discard_index(self._by_product, (key.product_id, key.major), key)
        self._discard_index(self._by_consumer, key.consumer, key)
        self._compact_if_stale()
        return grant

    def due(
        self, now: datetime, limit: int | None = None, keep: Callable[[GrantKey], bool] | None = None
    ) -> list[HeldGrant]:
        """Up to ``limit`` held grants whose end is at or before ``now``, earliest first; with ``keep``,
        only those it keeps (a replica's own products), others not counted against the limit.

        They stay held until :meth:`revoke`: the revocation in Snowflake comes first, and a sweep
        that fails half-way finds the rest again.
        """
        found: list[HeldGrant] = []
        passed: list[HeldGrant] = []
        seen: set[GrantKey] = set()
        while self._ends and self._ends[0][0] <= now and (limit is None or len(found) < limit):
            end, key = heapq.heappop(self._ends)
            current = self._held.get(key)
            # A grant revoked and granted again to the same end has two entries: take it once.
            if current is not None and current.expires_at == end and key not in seen:
                seen.add(key)
                (found if keep is None or keep(key) else passed).append(current)
            # else: stale (the grant was extended or revoked since); dropped here for good
        for grant in (*found, *passed):
            heapq.heappush(self._ends, (grant.expires_at, grant.key))
        return found

    def on_product(self, product_id: str, major: int) -> list[HeldGrant]:
        return sorted(
            (self._held[k] for k in self._by_product.get((product_id, major), ())), key=lambda g: g.key
        )

    def of_consumer(self, consumer: str) -> list[HeldGrant]:
        return sorted((self._held[k] for k in self._by_consumer.get(consumer, ())), key=lambda g: g.key)

    @staticmethod
    def _discard_index(index: defaultdict[_IndexKey, set[GrantKey]], at: _IndexKey, key: GrantKey) -> None:
        keys = index.get(at)
        if keys is not None:
            keys.discard(key)
            if not keys:
                del index[at]

    def _compact_if_stale(self) -> None:
        if len(self._ends) > 2 * len(self._held) + 64:
            self._ends = [(g.expires_at, g.key) for g in self._held.values()]
            heapq.heapify(self._ends)


# -- the ledger's records: one whole SharingLedgerEntry per product ------------------------------


def grant_key(product_id: str, grant: LedgerGrant) -> GrantKey:
    return GrantKey(product_id, grant.major, consumer_name(grant.consumer))


def _entry(
    entry: SharingLedgerEntry | None, product_id: str, changed_by: str, **changes: Any
) -> SharingLedgerEntry:
    if entry is None:
        domain, product = product_id.split(".", 1)
        entry = SharingLedgerEntry(domain=domain, product=product, changed_by=changed_by)
    return entry.model_copy(update={"changed_by": changed_by, **changes})


def with_grant(
    entry: SharingLedgerEntry | None, product_id: str, grant: LedgerGrant, *, changed_by: str
) -> tuple[SharingLedgerEntry, LedgerGrant]:
    """The entry holding ``grant``; one already held keeps the later end. Returns what is now held."""
    key = grant_key(product_id, grant)
    grants = list(entry.grants) if entry is not None else []
    for i, held in enumerate(grants):
        if grant_key(product_id, held) == key:
            if held.expires_at >= grant.expires_at:
                return _entry(entry, product_id, changed_by), held
            grants[i] = grant
            break
    else:
        grants.append(grant)
    return _entry(entry, product_id, changed_by, grants=tuple(grants)), grant


def without_grant(
    entry: SharingLedgerEntry | None, product_id: str, key: GrantKey, *, changed_by: str
) -> SharingLedgerEntry:
    grants = tuple(g for g in (entry.grants if entry else ()) if grant_key(product_id, g) != key)
    return _entry(entry, product_id, changed_by, grants=grants)


def held_grant(entry: SharingLedgerEntry | None, product_id: str, key: GrantKey) -> LedgerGrant | None:
    return next((g for g in (entry.grants if entry else ()) if grant_key(product_id, g) == key), None)


def with_pending(
    entry: SharingLedgerEntry | None, product_id: str, request: PendingRequest, *, changed_by: str
) -> SharingLedgerEntry:
    pending = tuple(p for p in (entry.pending if entry else ()) if p.request_id != request.request_id)
    return _entry(entry, product_id, changed_by, pending=(*pending, request))


def pending_request(entry: SharingLedgerEntry | None, request_id: str) -> PendingRequest | None:
    return next((p for p in (entry.pending if entry else ()) if p.request_id == request_id), None)


#: How many decided requests an entry remembers per product, to answer a decision delivered again.
DECIDED_KEPT = 50


def with_decided(
    entry: SharingLedgerEntry | None, product_id: str, decided: PendingRequest, *, changed_by: str
) -> SharingLedgerEntry:
    """The request no longer pending, remembered as decided (``decided.decision`` as decided)."""
    pending = tuple(p for p in (entry.pending if entry else ()) if p.request_id != decided.request_id)
    earlier = tuple(d for d in (entry.decided if entry else ()) if d.request_id != decided.request_id)
    kept = (*earlier, decided)[-DECIDED_KEPT:]
    return _entry(entry, product_id, changed_by, pending=pending, decided=kept)


def decided_request(entry: SharingLedgerEntry | None, request_id: str) -> PendingRequest | None:
    return next((d for d in (entry.decided if entry else ()) if d.request_id == request_id), None)


@dataclass(frozen=True)
class Recorded:
    """Where a product's current entry was read from: its partition, and the record (for audits)."""

    partition: int
    record: InputRef


class LedgerState:
    """Every product's current entry, the grants indexed for sweeps, and where each entry was read."""

    def __init__(self) -> None:
        self.grants = GrantLedger()
        self._entries: dict[str, SharingLedgerEntry] = {}
        self._recorded: dict[str, Recorded] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def entry(self, product_id: str) -> SharingLedgerEntry | None:
        return self._entries.get(product_id)

    def recorded(self, product_id: str) -> Recorded | None:
        return self._recorded.get(product_id)

    def products(self) -> list[str]:
        return sorted(self._entries)

    def put(self, entry: SharingLedgerEntry, recorded: Recorded | None = None) -> None:
        """Make ``entry`` the product's current one (``recorded``: where it was read; None for an own
        write not yet read back)."""
        product_id = entry.product_id
        self._forget_grants(product_id)
        self._entries[product_id] = entry
        if recorded is not None:
            self._recorded[product_id] = recorded
        for grant in entry.grants:
            self.grants.grant(
                HeldGrant(
                    grant_key(product_id, grant), grant.expires_at, grant.request_id, grant.policy_revision
                )
            )

    def discard(self, product_id: str) -> None:
        self._forget_grants(product_id)
        self._entries.pop(product_id, None)
        self._recorded.pop(product_id, None)

    def _forget_grants(self, product_id: str) -> None:
        old = self._entries.get(product_id)
        for grant in old.grants if old is not None else ():
            self.grants.revoke(grant_key(product_id, grant))
