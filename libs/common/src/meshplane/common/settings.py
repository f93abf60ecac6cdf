"""Settings every service shares, read from the environment with pydantic-settings.

Kafka (``MESH_KAFKA_*``), the HTTP endpoint (``MESH_HTTP_*``), retries (``MESH_RETRY_*``) and the log
level (``MESH_LOG_LEVEL``). Snowflake's settings live with the gateway
(:mod:`meshplane.common.snowflake.settings`); a service's own settings and the whole configuration
are built by the service kit (:mod:`meshplane.common.service.config`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["HttpSettings", "KafkaSettings", "LogSettings", "PolicySettings", "RetrySettings"]


class KafkaSettings(BaseSettings):
    """Which Kafka cluster a service talks to. Environment variables: ``MESH_KAFKA_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="MESH_KAFKA_", extra="ignore", frozen=True)

    #: Comma-separated ``host:port`` list, as Kafka clients take it.
    bootstrap_servers: str = Field(default="127.0.0.1:9092", min_length=1)
    #: Where a new consumer group starts. ``earliest``: a service deployed after events were
    #: published still acts on them.
    auto_offset_reset: Literal["earliest", "latest"] = "earliest"
    request_timeout_ms: int = Field(default=30_000, ge=1000)
    #: At most this many records are taken per batch (one acknowledgement wait, one commit).
    batch_max_records: int = Field(default=500, ge=1, le=10_000)
    #: No further record of a batch is started after this many seconds; the rest are read again.
    #: Keeps a batch of slow Snowflake work short next to graceful shutdown and rebalances.
    batch_max_seconds: float = Field(default=5.0, gt=0, le=120)


class LogSettings(BaseSettings):
    """How much a service logs. Environment variable: ``MESH_LOG_LEVEL`` (any case)."""

    model_config = SettingsConfigDict(env_prefix="MESH_LOG_", extra="ignore", frozen=True)

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"

    @field_validator("level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


class HttpSettings(BaseSettings):
    """Where a service serves ``/healthz``, ``/readyz`` and ``/metrics``. Variables: ``MESH_HTTP_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="MESH_HTTP_", extra="ignore", frozen=True)

    host: str = "0.0.0.0"  # noqa: S104  # probes and scrapes come from outside the pod
    port: int = Field(default=8080, ge=0, le=65535)


class RetrySettings(BaseSettings):
    """How a failing handler is tried again while its partition waits.

    Environment variables: ``MESH_RETRY_<FIELD>``. Backoff is exponential with jitter, from
    ``initial_seconds`` up to ``max_seconds`` between attempts.

    * A temporary error (Snowflake's network, lock waits, 5xx…) is retried for ``budget_seconds``;
      then the event is handed back to Kafka uncommitted and read again, so that one handler call
      stays well inside the consumer's ``max.poll.interval.ms`` and the consumer never leaves its
      group.
    * An unexpected exception (a bug, a case nobody foresaw) is tried ``unexpected_attempts`` times
      in all, with the same backoff; then the event is dead-lettered (reason ``handler-error``) with
      a failed audit event, and the partition moves on.
    """

    model_config = SettingsConfigDict(env_prefix="MESH_RETRY_", extra="ignore", frozen=True)

    initial_seconds: float = Field(default=0.5, gt=0)
    max_seconds: float = Field(default=10.0, gt=0)
    budget_seconds: float = Field(default=120.0, gt=0)
    unexpected_attempts: int = Field(default=3, ge=1, le=20)


class PolicySettings(BaseSettings):
    """Where a service asks the policy engine (Open Policy Agent's REST API). ``MESH_POLICY_<FIELD>``.

    In Kubernetes OPA is the pod's sidecar (``http://127.0.0.1:8181``); in the dev stack a local
    server.
    """

    model_config = SettingsConfigDict(env_prefix="MESH_POLICY_", extra="ignore", frozen=True)

    url: str = Field(default="http://127.0.0.1:8181", min_length=1)
    #: How long one decision may take before it counts as the engine being unreachable.
    timeout_seconds: float = Field(default=2.0, gt=0, le=60)
