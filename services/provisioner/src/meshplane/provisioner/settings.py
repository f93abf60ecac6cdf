"""The provisioner's configuration, read from the environment with pydantic-settings.

``MESH_PROVISIONER_*`` holds what is the provisioner's own; Kafka (``MESH_KAFKA_*``), Snowflake
(``MESH_SNOWFLAKE_*``), the HTTP endpoint (``MESH_HTTP_*``) and retries (``MESH_RETRY_*``) are read
by the settings classes every service shares.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from meshplane.common.events import PRODUCT_TOPIC_PATTERN
from meshplane.common.settings import (
    HttpSettings,
    KafkaSettings,
    LogSettings,
    RetrySettings,
    SnowflakeSettings,
)

__all__ = ["ProvisionerConfig", "ProvisionerSettings"]


class ProvisionerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MESH_PROVISIONER_", extra="ignore", frozen=True)

    #: The consumer group: every replica shares it, so Kafka splits the partitions between them.
    group_id: str = Field(default="meshplane-provisioner", min_length=1)
    #: Which domains' product topics this deployment serves (a regular expression over whole topic
    #: names). Every domain by default; narrower to split domains between deployments.
    topic_pattern: str = PRODUCT_TOPIC_PATTERN

    @field_validator("topic_pattern")
    @classmethod
    def _a_regex(cls, value: str) -> str:
        re.compile(value)
        if "{" in value:
            raise ValueError("no braces: FastStream reads {name} in a topic pattern as a path parameter")
        return value


class ProvisionerConfig(BaseModel):
    """Everything the provisioner's composition root needs, each part from its own variables."""

    model_config = ConfigDict(frozen=True)

    provisioner: ProvisionerSettings
    kafka: KafkaSettings
    snowflake: SnowflakeSettings
    http: HttpSettings
    retry: RetrySettings
    log: LogSettings = Field(default_factory=LogSettings)

    @classmethod
    def from_env(cls) -> ProvisionerConfig:
        return cls(
            provisioner=ProvisionerSettings(),
            kafka=KafkaSettings(),
            snowflake=SnowflakeSettings(),  # required fields come from the environment
            http=HttpSettings(),
            retry=RetrySettings(),
            log=LogSettings(),
        )
