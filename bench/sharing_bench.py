"""What a sharing decision and an expiry sweep cost as the grants the mesh holds grow, 100 to 100,000.

Issue 9 asks that a decision must not grow with the grants held. Here:

* a **decision** is what the service will do for each access request: look up the grant held on
  that product version in the ledger, build the policy's input (:func:`policy_input`) and ask the
  real Open Policy Agent serving ``deploy/policies`` over HTTP (the pinned binary, started here);
* an **expiry sweep** finds the grants whose end has passed (100 of them, whatever the size) and
  forgets them in the ledger. The Snowflake revocations a sweep runs are one plan per grant and do
  not depend on the ledger's size, so they are not part of this figure.

Each round visits every size once, in turn, so noise on this shared machine falls on all sizes
alike; medians over the rounds. The figures that matter are the ratios to the smallest ledger.
Writes bench/results/sharing.json and prints a summary.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from open_data_contract_standard.model import OpenDataContractStandard

from meshplane.common.catalog import entries
from meshplane.common.events import read_contract
from meshplane.common.events.access import AccessRequested, InternalConsumer
from meshplane.common.policy import PolicyClient
from meshplane.common.settings import PolicySettings
from meshplane.devstack.opa import running_opa
from meshplane.sharing.ledger import GrantKey, GrantLedger, HeldGrant
from meshplane.sharing.policy_input import ACCESS_DECISION, policy_input

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "sharing.json"
SIZES = (100, 1_000, 10_000, 100_000)
DECISIONS = 200
DUE = 100
ROUNDS = 5
NOW = datetime(2026, 12, 2, tzinfo=UTC)


def ledger_of(size: int) -> GrantLedger:
    """``size`` grants over 1,000 products and 100 consumers, ending in the next 90 days."""
    ledger = GrantLedger()
    for i in range(size):
        key = GrantKey(f"d{i % 50}.p{i % 1000}", 1, f"domain:c{i // 1000 % 100}x{i}")
        ledger.grant(HeldGrant(key, NOW + timedelta(minutes=1 + (i * 7919) % 129_600), f"r{i}", "rev"))
    return ledger


def with_due(ledger: GrantLedger, round_: int) -> None:
    for i in range(DUE):
        key = GrantKey("d0.p0", 1, f"domain:due{round_}x{i}")
        ledger.grant(HeldGrant(key, NOW - timedelta(seconds=1 + i), f"due{i}", "rev"))


async def decisions(
    client: PolicyClient, ledger: GrantLedger, request: AccessRequested, product: Any
) -> float:
    """Median seconds of one decision over DECISIONS."""
    key = GrantKey(f"{request.domain}.{request.product}", request.major, f"domain:{request.requester}")
    times = []
    for _ in range(DECISIONS):
        began = time.perf_counter()
        decision = await client.decide(ACCESS_DECISION, policy_input(request, product, ledger.held(key)))
        times.append(time.perf_counter() - began)
        assert decision.result["outcome"] == "pending", decision.result  # sales.orders holds pii
    return statistics.median(times)


def sweep(ledger: GrantLedger) -> float:
    began = time.perf_counter()
    due = ledger.due(NOW)
    for grant in due:
        ledger.revoke(grant.key)
    elapsed = time.perf_counter() - began
    assert len(due) == DUE, len(due)
    return elapsed


async def measure(opa_url: str) -> dict[str, Any]:
    odcs = OpenDataContractStandard.from_file(str(ROOT / "examples" / "sales-orders.odcs.yaml"))
    product = entries.provisioned(None, read_contract(odcs), {}, changed_by="bench")
    request = AccessRequested(
        request_id="bench-1",
        domain="sales",
        product="orders",
        major=1,
        requester="marketing",
        consumer=InternalConsumer(domain="marketing"),
        purpose="benchmark",
        duration=timedelta(days=30),
    )
    ledgers = {size: ledger_of(size) for size in SIZES}
    decide: dict[int, list[float]] = {size: [] for size in SIZES}
    sweeps: dict[int, list[float]] = {size: [] for size in SIZES}
    client = PolicyClient(PolicySettings(url=opa_url))
    try:
        await decisions(client, ledgers[SIZES[0]], request, product)  # warm the connection and OPA
        for round_ in range(ROUNDS):
            for size in SIZES:
                decide[size].append(await decisions(client, ledgers[size], request, product))
                with_due(ledgers[size], round_)
                sweeps[size].append(sweep(ledgers[size]))
    finally:
        await client.aclose()
    smallest = SIZES[0]
    decision_ms = {size: statistics.median(decide[size]) * 1000 for size in SIZES}
    sweep_ms = {size: statistics.median(sweeps[size]) * 1000 for size in SIZES}
    return {
        "what": "sharing decision (ledger lookup + policy input + real OPA over HTTP) and expiry sweep "
        f"({DUE} due grants), by grants held",
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "rounds": ROUNDS,
        "decisions_per_round": DECISIONS,
        "decision_median_ms": {str(s): round(v, 3) for s, v in decision_ms.items()},
        "decision_ratio_to_smallest": {
            str(s): round(v / decision_ms[smallest], 2) for s, v in decision_ms.items()
        },
        "decisions_per_second_sequential": {str(s): round(1000 / v, 1) for s, v in decision_ms.items()},
        "sweep_median_ms": {str(s): round(v, 3) for s, v in sweep_ms.items()},
        "sweep_ratio_to_smallest": {str(s): round(v / sweep_ms[smallest], 2) for s, v in sweep_ms.items()},
    }


def main() -> None:
    with running_opa() as opa_url:
        result = asyncio.run(measure(opa_url))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
