"""How a service is declared: one :class:`ServiceSpec`, from which the kit derives everything else.

A service is its name, its own settings class, what it subscribes to (a kind of domain topic and
the handler of each event type there), the audit events it emits, how its dependencies are built
from its configuration and the gateway, and how a failure becomes its audit event. From that the
kit derives the composition root (:meth:`ServiceSpec.create_app`), the consumer group
(``meshplane-<name>``), the event types each subscription accepts, the AsyncAPI document
(:meth:`ServiceSpec.asyncapi`, behind ``meshctl docs``) and the entry point
(:meth:`ServiceSpec.main`). Nothing is listed twice.

The whole of a service's ``service.py``::

    SERVICE = ServiceSpec(
        name="provisioner",
        version=__version__,
        description="Product lifecycle events in; Snowflake objects and audit events out.",
        settings=ProvisionerSettings,
        subscriptions=(Subscription("product", "product lifecycle", "…", handlers),),
        emits=(AuditProductProvisioned, AuditProductProvisioningFailed, AuditProductRetired),
        dependencies=lambda parts: Provisioning(parts.gateway, service_role=..., catalog=parts.catalog),
        on_failure=provisioning_failed,
        catalog="write",
    )
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, Protocol, TypeVar

from meshplane.common.catalog import CatalogSource
from meshplane.common.events import DOMAIN_TOPIC_KINDS, AuditEventData, AuditEventRejected, EventData
from meshplane.common.kit.config import ServiceConfig, ServiceSettings, env_prefix
from meshplane.common.kit.handlers import Handlers
from meshplane.common.messaging import Emitter, FailureAudit, RecordSink
from meshplane.common.snowflake.ports import SnowflakePort
from meshplane.common.snowflake.settings import SnowflakeSettings
from meshplane.common.telemetry import ServiceMetrics

if TYPE_CHECKING:
    from meshplane.common.kit.app import ServiceApp

__all__ = ["Background", "ServiceParts", "ServiceSpec", "Subscription"]

_S = TypeVar("_S", bound=ServiceSettings)
_D = TypeVar("_D")


@dataclass(frozen=True)
class Subscription(Generic[_D]):
    """Every domain's ``mesh.<domain>.<kind>`` topic, and the handlers of the event types found there."""

    kind: str
    title: str
    description: str
    handlers: Handlers[_D]

    def __post_init__(self) -> None:
        if self.kind not in DOMAIN_TOPIC_KINDS:
            raise ValueError(f"not a kind of domain topic: {self.kind!a}")
        if not self.handlers.types:
            raise ValueError(f"the {self.kind} subscription has no handlers")


class Background(Protocol):
    """A part of a service layer that runs beside the subscribers: a reader of a state topic, a sweep.

    The kit starts it after the catalog and before the first batch, asks :meth:`caught_up` before
    every batch (the read-your-writes barrier of a state topic; nothing for a sweep), reports
    :meth:`ready` on ``/readyz`` under :attr:`name`, and stops it after the last batch, before the
    producer stops (so what it emits while stopping is still delivered).
    """

    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def ready(self) -> bool: ...

    async def caught_up(self) -> None: ...


def _no_background(_dependencies: object) -> tuple[Background, ...]:
    return ()


@dataclass(frozen=True)
class ServiceParts(Generic[_S]):
    """What the kit hands a service's ``dependencies`` function to build its service layer from."""

    config: ServiceConfig[_S]
    #: The gateway, instrumented (spans and metrics per request).
    gateway: SnowflakePort
    #: The catalog, rebuilt and followed; None unless the spec asks for it.
    catalog: CatalogSource | None
    #: Produces the outcomes of work the service starts itself (not an answer to an input event).
    emitter: Emitter


@dataclass(frozen=True)
class ServiceSpec(Generic[_S, _D]):
    """A service, declared once. See the module docstring."""

    name: str
    version: str
    description: str
    #: The service's own settings (``MESH_<NAME>_*``), a :class:`ServiceSettings` subclass.
    settings: type[_S]
    subscriptions: tuple[Subscription[_D], ...]
    #: The audit events its handlers emit (``event.rejected`` is every service's, added by the kit).
    emits: tuple[type[AuditEventData], ...]
    #: Builds what the handlers share (the service layer) from the configuration, gateway and catalog.
    dependencies: Callable[[ServiceParts[_S]], _D]
    #: Turns a failure (a permanent error, or an unexpected one retried in vain) into an audit event.
    on_failure: FailureAudit
    #: ``read``: the service knows the products (the catalog is rebuilt before it consumes, and
    #: caught up before each batch); ``write``: it is the catalog's writer (the provisioner), which
    #: also makes sure the compacted topic exists.
    catalog: Literal["none", "read", "write"] = "none"
    #: The parts of the service layer that run beside the subscribers (see :class:`Background`).
    background: Callable[[_D], Sequence[Background]] = _no_background
    #: What the service's role must hold on the account (``meshctl doctor`` checks it), as the
    #: bootstrap of its identity grants it.
    account_privileges: tuple[str, ...] = ()
    #: Roles the bootstrap grants to the service's role (``meshctl doctor`` checks them).
    held_roles: tuple[str, ...] = ()
    #: Whether it needs Enterprise Edition (masking policies).
    needs_enterprise: bool = False

    def __post_init__(self) -> None:
        expected = env_prefix(self.name)
        if self.settings.model_config.get("env_prefix") != expected:
            raise ValueError(
                f"{self.settings.__name__} must read {expected}*: "
                f'model_config = service_settings_config("{self.name}")'
            )
        if not self.subscriptions:
            raise ValueError(f"service {self.name} subscribes to nothing")
        seen: set[str] = set()
        for subscription in self.subscriptions:
            twice = seen & subscription.handlers.types
            if twice:
                raise ValueError(f"{', '.join(sorted(twice))} handled by two subscriptions of {self.name}")
            seen |= subscription.handlers.types

    @property
    def role(self) -> str:
        """The service's Snowflake role as the bootstrap creates it: ``MESHPLANE_<NAME>``."""
        return f"MESHPLANE_{self.name.upper()}"

    @property
    def bootstrap_script(self) -> str:
        """The script that creates its identity, relative to the repository."""
        name = "bootstrap.sql" if self.name == "provisioner" else f"bootstrap-{self.name}.sql"
        return f"deploy/snowflake/{name}"

    @property
    def accepted_types(self) -> frozenset[str]:
        return frozenset().union(*(s.handlers.types for s in self.subscriptions))

    @property
    def accepted_models(self) -> tuple[type[EventData], ...]:
        return tuple(model for s in self.subscriptions for model in s.handlers.models)

    @property
    def audit_types(self) -> tuple[type[AuditEventData], ...]:
        """Every audit event type the service emits, ``event.rejected`` included."""
        return (*self.emits, AuditEventRejected)

    def config_from_env(self) -> ServiceConfig[_S]:
        return ServiceConfig.from_env(self.settings)

    def test_config(
        self, *, snowflake: SnowflakeSettings | dict[str, Any] | None = None, **kwargs: Any
    ) -> ServiceConfig[_S]:
        """A configuration for tests and benchmarks (:meth:`ServiceConfig.for_tests`).

        Without ``snowflake``, placeholder credentials for a service whose gateway is a fake.
        """
        if snowflake is None:
            snowflake = SnowflakeSettings(
                account="local",
                user=f"{self.role}_SVC",
                role=self.role,
                warehouse=f"{self.role}_WH",
                password="unused",  # noqa: S106  # a placeholder: a fake gateway never connects
            )
        return ServiceConfig.for_tests(self.settings, snowflake=snowflake, **kwargs)

    def create_app(
        self,
        config: ServiceConfig[_S],
        gateway: SnowflakePort,
        *,
        sink: RecordSink | None = None,
        metrics: ServiceMetrics | None = None,
        catalog: CatalogSource | None = None,
    ) -> ServiceApp[_D]:
        """The composition root: broker, subscribers, producer, catalog, health server, lifespan.

        Tests pass a ``sink`` (no producer), ``metrics``, or a ``catalog`` (no reader of the topic).
        """
        from meshplane.common.kit.app import create_app

        return create_app(self, config, gateway, sink=sink, metrics=metrics, catalog=catalog)

    def asyncapi(self) -> dict[str, Any]:
        """The service's AsyncAPI 3 document, generated from this declaration."""
        from meshplane.common.kit.asyncapi import asyncapi_document

        return asyncapi_document(self)

    def main(self) -> None:
        """The entry point: configuration from the environment, the real gateway, run until SIGTERM.

        On SIGTERM/SIGINT FastStream stops consuming, lets the batch in flight finish (no record
        of it is started after ``MESH_KAFKA_BATCH_MAX_SECONDS``; offsets are committed only once
        the audit events are acknowledged), and shuts down.
        """
        import asyncio

        from meshplane.common.snowflake.gateway import SnowflakeGateway
        from meshplane.common.telemetry import configure_tracing

        config = self.config_from_env()
        logging.basicConfig(level=config.log.level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
        configure_tracing(self.name, self.version)
        service = self.create_app(config, SnowflakeGateway(config.snowflake))
        asyncio.run(service.app.run())
