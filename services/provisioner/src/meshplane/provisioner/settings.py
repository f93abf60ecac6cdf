"""The provisioner's own settings, ``MESH_PROVISIONER_*`` (group id, domains served).

Kafka, Snowflake, HTTP, retries and logging are read by the settings every service shares; the
kit assembles the whole configuration (:class:`~meshplane.common.kit.ServiceConfig`).
"""

from __future__ import annotations

from meshplane.common.kit import ServiceSettings, service_settings_config

__all__ = ["ProvisionerSettings"]


class ProvisionerSettings(ServiceSettings):
    model_config = service_settings_config("provisioner")
