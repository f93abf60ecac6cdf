"""The policy client against a real Open Policy Agent serving deploy/policies."""

from __future__ import annotations

from typing import Any

import pytest

from meshplane.common.errors import PermanentError, TemporaryError
from meshplane.common.policy import PolicyClient
from meshplane.common.settings import PolicySettings
from meshplane.devstack.net import free_port

ACCESS = "meshplane/access/decision"


def access_input(classification: str, seconds: int, consumer: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "request": {
            "request_id": "r1",
            "domain": "sales",
            "product": "orders",
            "major": 1,
            "requester": "marketing",
            "purpose": "attribution",
            "duration_seconds": seconds,
            "consumer": consumer or {"kind": "domain", "domain": "marketing"},
        },
        "product": {
            "domain": "sales",
            "product": "orders",
            "owner": "sales-data-team",
            "versions": [
                {
                    "major": 1,
                    "lifecycle": "active",
                    "ports": [{"columns": [{"classification": classification}]}],
                }
            ],
        },
    }


async def test_the_engine_decides_and_names_its_policies(opa_url: str) -> None:
    client = PolicyClient(PolicySettings(url=opa_url))
    try:
        assert await client.ready()
        approved = await client.decide(ACCESS, access_input("internal", 3600))
        assert approved.result == {
            "outcome": "approve",
            "reason": "public or internal data, for a domain of the mesh",
            "duration_seconds": 3600,
        }
        pending = await client.decide(ACCESS, access_input("pii", 3600))
        assert (pending.result["outcome"], pending.result["approvers"]) == ("pending", ["sales-data-team"])
        denied = await client.decide(ACCESS, access_input("internal", 0))
        assert denied.result["outcome"] == "deny"
        assert approved.revision.startswith("sha256:")
        assert approved.revision == denied.revision
    finally:
        await client.aclose()


async def test_a_path_without_a_decision_is_permanent(opa_url: str) -> None:
    client = PolicyClient(PolicySettings(url=opa_url))
    try:
        with pytest.raises(PermanentError, match="no decision"):
            await client.decide("meshplane/nothing/here", access_input("internal", 60))
    finally:
        await client.aclose()


async def test_an_engine_that_does_not_answer_is_temporary_never_an_approval() -> None:
    client = PolicyClient(PolicySettings(url=f"http://127.0.0.1:{free_port('127.0.0.1')}", timeout_seconds=1))
    try:
        assert not await client.ready()
        with pytest.raises(TemporaryError, match="did not answer"):
            await client.decide(ACCESS, access_input("internal", 60))
    finally:
        await client.aclose()
