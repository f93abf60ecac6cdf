"""What the access policy is asked: the request, the product as the catalog knows it, the grant held.

The shape is the one ``deploy/policies/access.rego`` documents at its top. It carries what a
policy decides on — classifications per column, lifecycle per version, the owner — and not the
whole contract document, and of the consumer's grants only the one on this product version (for
an extension): the input, and so the cost of a decision, does not grow with the number of grants
the mesh holds. Pure: no I/O.
"""

from __future__ import annotations

from typing import Any

from meshplane.common.events.access import AccessRequested
from meshplane.common.events.catalog import CatalogEntry
from meshplane.sharing.ledger import HeldGrant

__all__ = ["ACCESS_DECISION", "policy_input"]

#: Where the decision lives in OPA's data API (``data.meshplane.access.decision``).
ACCESS_DECISION = "meshplane/access/decision"


def _product(entry: CatalogEntry) -> dict[str, Any]:
    return {
        "domain": entry.domain,
        "product": entry.product,
        "owner": entry.owner,
        "versions": [
            {
                "major": version.major,
                "lifecycle": version.lifecycle,
                "ports": [
                    {
                        "name": port.name,
                        "columns": [
                            {"name": column.name, "classification": column.classification}
                            for column in port.columns
                        ],
                    }
                    for port in version.ports
                ],
            }
            for version in entry.versions
        ],
    }


def policy_input(
    request: AccessRequested, product: CatalogEntry | None, held: HeldGrant | None
) -> dict[str, Any]:
    """The policy's input for ``request``; ``product`` is None when the catalog does not know it."""
    return {
        "request": {
            "request_id": request.request_id,
            "domain": request.domain,
            "product": request.product,
            "major": request.major,
            "requester": request.requester,
            "purpose": request.purpose,
            # Whole seconds: Rego compares numbers, and a fraction of a second changes no decision.
            "duration_seconds": int(request.duration.total_seconds()),
            "consumer": request.consumer.model_dump(mode="json"),
        },
        "product": _product(product) if product is not None else None,
        "held": []
        if held is None
        else [{"expires_at": held.expires_at.isoformat(), "request_id": held.request_id}],
    }
