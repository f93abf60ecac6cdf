"""Sharing's own settings, ``MESH_SHARING_*``, and where it asks the policy engine (``MESH_POLICY_*``)."""

from __future__ import annotations

from pydantic import Field

from meshplane.common.events import SHARING_LEDGER_TOPIC
from meshplane.common.kit import ServiceSettings, service_settings_config
from meshplane.common.settings import PolicySettings

__all__ = ["SharingSettings"]


class SharingSettings(ServiceSettings):
    model_config = service_settings_config("sharing")

    #: How often the replica that owns a product's ledger partition revokes what has expired or
    #: was retired: no grant outlives its end by more than this (plus the sweep's own time).
    sweep_seconds: float = Field(default=30.0, gt=0, le=3600)
    #: The most grants one sweep revokes before it lets the next one go on (bounds its time).
    sweep_limit: int = Field(default=500, ge=1)
    #: How often the owner of a product compares who holds its reader roles with what the mesh granted.
    drift_seconds: float = Field(default=300.0, gt=0, le=86400)
    #: The compacted topic sharing keeps its state in (tests give each run its own).
    ledger_topic: str = Field(default=SHARING_LEDGER_TOPIC, min_length=1)
    #: Read from ``MESH_POLICY_*``.
    policy: PolicySettings = Field(default_factory=PolicySettings)
