"""The service kit: what a Meshplane service is built on, so that a service is a few short files.

* :mod:`~meshplane.common.kit.spec` — :class:`ServiceSpec`, the one declaration of a service;
* :mod:`~meshplane.common.kit.handlers` — :class:`Handlers`, the event type → handler registry;
* :mod:`~meshplane.common.kit.config` — :class:`ServiceSettings` and :class:`ServiceConfig`;
* :mod:`~meshplane.common.kit.app` — the composition root (:class:`ServiceApp`);
* :mod:`~meshplane.common.kit.asyncapi` — the AsyncAPI document, from the declaration.

Adding a service is described in ``docs/architecture.md``.
"""

from meshplane.common.kit.app import ServiceApp
from meshplane.common.kit.config import ServiceConfig, ServiceSettings, service_settings_config
from meshplane.common.kit.handlers import Handler, Handlers
from meshplane.common.kit.spec import Background, ServiceParts, ServiceSpec, Subscription

__all__ = [
    "Background",
    "Handler",
    "Handlers",
    "ServiceApp",
    "ServiceConfig",
    "ServiceParts",
    "ServiceSettings",
    "ServiceSpec",
    "Subscription",
    "service_settings_config",
]
