"""Decisions from the policy engine: Open Policy Agent, asked over its REST API.

``PolicyClient.decide("meshplane/access/decision", input)`` posts ``{"input": …}`` to
``/v1/data/meshplane/access/decision`` (https://www.openpolicyagent.org/docs/rest-api , "Get a
Document (with Input)") and returns the decision with the revision of the policies that made it,
for the audit event.

Failures are sorted as every failure in the mesh (:mod:`meshplane.common.errors`): an engine that
does not answer, answers late, or answers 5xx is a :class:`TemporaryError` — the partition waits,
and nothing is ever approved for want of an answer. A policy that gives no decision for an input
(the document is undefined) is a :class:`PermanentError`: asking again gives the same nothing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import httpx

from meshplane.common.errors import PermanentError, TemporaryError
from meshplane.common.settings import PolicySettings

__all__ = ["PolicyClient", "PolicyDecision"]


@dataclass(frozen=True)
class PolicyDecision:
    """What the policy decided, and which policies decided it."""

    result: dict[str, Any]
    #: The bundle revision OPA reports, else a digest of the loaded policies' sources.
    revision: str


class PolicyClient:
    """One HTTP client to the engine, opened lazily, closed with the service."""

    def __init__(self, settings: PolicySettings) -> None:
        self._settings = settings
        self._client: httpx.AsyncClient | None = None
        self._revision: str | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                base_url=self._settings.url.rstrip("/"), timeout=self._settings.timeout_seconds
            )
        return self._client

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def ready(self) -> bool:
        """True when the engine answers its health endpoint (OPA's REST API, "Health API")."""
        try:
            answer = await self._http().get("/health")
        except httpx.HTTPError:
            return False
        return answer.status_code == 200

    async def decide(self, path: str, input_: dict[str, Any]) -> PolicyDecision:
        """The document at ``data/<path>`` for ``input_``; see the module docstring for failures."""
        try:
            answer = await self._http().post(f"/v1/data/{path.strip('/')}", json={"input": input_})
        except httpx.HTTPError as exc:
            raise TemporaryError(
                f"the policy engine at {self._settings.url} did not answer: {exc!r}"
            ) from exc
        if answer.status_code >= 500:
            raise TemporaryError(f"the policy engine answered {answer.status_code}: {answer.text[:200]}")
        if answer.status_code != 200:
            raise PermanentError(
                f"the policy engine refused the query ({answer.status_code}): {answer.text[:200]}"
            )
        body = answer.json()
        result = body.get("result")
        if not isinstance(result, dict):
            raise PermanentError(f"the policy gave no decision at data/{path} for this input")
        return PolicyDecision(result=result, revision=await self._policy_revision())

    async def _policy_revision(self) -> str:
        if self._revision is None:
            try:
                answer = await self._http().get("/v1/policies")
                answer.raise_for_status()
            except httpx.HTTPError as exc:
                raise TemporaryError(f"the policy engine did not list its policies: {exc!r}") from exc
            policies = sorted((p["id"], p.get("raw", "")) for p in answer.json().get("result", []))
            digest = hashlib.sha256(json.dumps(policies).encode()).hexdigest()[:12]
            self._revision = f"sha256:{digest}"
        return self._revision
