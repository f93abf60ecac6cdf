"""A service's configuration: its own settings plus the parts every service shares.

Each service declares one settings class for what is its own, ``MESH_<SERVICE>_*``:

>>> class ProvisionerSettings(ServiceSettings):
...     model_config = service_settings_config("provisioner")

and the kit builds the whole :class:`ServiceConfig` the same way for every service: from the
environment in production (:meth:`ServiceConfig.from_env`), and from explicit values in tests and
benchmarks (:meth:`ServiceConfig.for_tests`), so nobody assembles a configuration by hand.

Every service has these settings of its own:

* ``GROUP_ID`` — its consumer group; every replica shares it, so Kafka splits the partitions
  between them. ``meshplane-<service>`` by default.
* ``DOMAINS`` — the domains this deployment serves, a regular expression over domain names
  (every domain by default); narrower to split domains between deployments, or to keep tests
  that share a broker apart.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from meshplane.common.events import ANY_DOMAIN
from meshplane.common.events.names import is_mesh_name
from meshplane.common.events.topics import check_domain_pattern
from meshplane.common.settings import HttpSettings, KafkaSettings, LogSettings, RetrySettings
from meshplane.common.snowflake.settings import SnowflakeSettings

__all__ = ["ServiceConfig", "ServiceSettings", "env_prefix", "service_settings_config"]


def env_prefix(service: str) -> str:
    """``MESH_<SERVICE>_``: where a service's own settings are read from."""
    if not is_mesh_name(service):
        raise ValueError(f"not a service name: {service!a}")
    return f"MESH_{service.upper()}_"


def service_settings_config(service: str) -> SettingsConfigDict:
    """The ``model_config`` of a service's own settings class: ``MESH_<SERVICE>_*``, frozen."""
    return SettingsConfigDict(env_prefix=env_prefix(service), extra="ignore", frozen=True)


class ServiceSettings(BaseSettings):
    """What every service has of its own (subclass it, with :func:`service_settings_config`)."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    #: None: ``meshplane-<service>`` (see :meth:`ServiceConfig.group_id`).
    group_id: str | None = Field(default=None, min_length=1)
    domains: str = ANY_DOMAIN

    @field_validator("domains")
    @classmethod
    def _a_domain_pattern(cls, value: str) -> str:
        return check_domain_pattern(value)


_S = TypeVar("_S", bound=ServiceSettings)


class ServiceConfig(BaseModel, Generic[_S]):
    """Everything a service's composition root needs, each part from its own variables."""

    model_config = ConfigDict(frozen=True)

    service: _S
    kafka: KafkaSettings
    snowflake: SnowflakeSettings
    http: HttpSettings
    retry: RetrySettings
    log: LogSettings = Field(default_factory=LogSettings)

    @classmethod
    def from_env(cls, settings: type[_S]) -> ServiceConfig[_S]:
        """Read every part from the environment (production: ``MESH_*`` variables)."""
        return ServiceConfig[settings](  # type: ignore[valid-type]
            service=settings(),
            kafka=KafkaSettings(),
            snowflake=SnowflakeSettings(),  # required fields come from the environment
            http=HttpSettings(),
            retry=RetrySettings(),
            log=LogSettings(),
        )

    @classmethod
    def for_tests(
        cls,
        settings: type[_S],
        *,
        snowflake: SnowflakeSettings | dict[str, Any],
        bootstrap_servers: str = "unused:9092",
        retry: RetrySettings | None = None,
        **own: Any,
    ) -> ServiceConfig[_S]:
        """A configuration for tests and benchmarks: explicit values, HTTP on a free loopback port.

        ``own`` are the service's own settings (``group_id``, ``domains``, …); ``retry`` defaults
        to short waits so a test of a retry does not sleep.
        """
        if isinstance(snowflake, dict):
            snowflake = SnowflakeSettings(**snowflake)
        return ServiceConfig[settings](  # type: ignore[valid-type]
            service=settings(**own),
            kafka=KafkaSettings(bootstrap_servers=bootstrap_servers),
            snowflake=snowflake,
            http=HttpSettings(host="127.0.0.1", port=0),
            retry=retry or RetrySettings(initial_seconds=0.01, max_seconds=0.05, budget_seconds=5.0),
        )

    def group_id(self, service: str) -> str:
        """The consumer group: the configured one, else ``meshplane-<service>``."""
        return self.service.group_id or f"meshplane-{service}"
