"""The service kit's declaration: what it derives, and the mistakes it refuses at import time."""

from __future__ import annotations

import dataclasses

import pytest
from pydantic_settings import BaseSettings

from meshplane.common.events import ProductCreated, ProductRetired
from meshplane.common.kit import Handlers, ServiceSettings, Subscription, service_settings_config
from meshplane.common.messaging import EventContext, Outcome
from meshplane.provisioner.handlers import handlers
from meshplane.provisioner.service import SERVICE


def test_the_provisioners_types_group_and_topics_are_derived_from_its_handlers() -> None:
    assert SERVICE.accepted_types == {
        "mesh.product.created.v1",
        "mesh.product.updated.v1",
        "mesh.product.retired.v1",
    }
    config = SERVICE.test_config()
    assert config.group_id(SERVICE.name) == "meshplane-provisioner"
    assert SERVICE.audit_types[-1].EVENT_TYPE == "mesh.audit.event.rejected.v1"
    assert SERVICE.role == "MESHPLANE_PROVISIONER"


def test_settings_read_from_another_prefix_are_refused() -> None:
    class Misnamed(ServiceSettings):
        model_config = service_settings_config("sharing")

    with pytest.raises(ValueError, match="MESH_PROVISIONER_"):
        dataclasses.replace(SERVICE, settings=Misnamed)  # type: ignore[arg-type]


def test_settings_that_are_not_service_settings_are_refused_by_their_prefix() -> None:
    class Plain(BaseSettings):
        pass

    with pytest.raises(ValueError, match="must read MESH_PROVISIONER_"):
        dataclasses.replace(SERVICE, settings=Plain)  # type: ignore[arg-type]


def test_an_event_type_handled_by_two_subscriptions_is_refused() -> None:
    again = Subscription("product", "again", "the same handlers twice", handlers)
    with pytest.raises(ValueError, match=r"mesh\.product\.created\.v1"):
        dataclasses.replace(SERVICE, subscriptions=(*SERVICE.subscriptions, again))


def test_a_second_handler_for_a_type_is_refused() -> None:
    registry: Handlers[None] = Handlers()

    @registry.on(ProductRetired)
    async def first(event: ProductRetired, deps: None, context: EventContext) -> list[Outcome]:
        return []

    with pytest.raises(ValueError, match="has a handler already"):

        @registry.on(ProductRetired)
        async def second(event: ProductRetired, deps: None, context: EventContext) -> list[Outcome]:
            return []


def test_a_subscription_without_handlers_or_to_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="no handlers"):
        Subscription("product", "empty", "nothing", Handlers())
    registry: Handlers[None] = Handlers()

    @registry.on(ProductCreated)
    async def created(event: ProductCreated, deps: None, context: EventContext) -> list[Outcome]:
        return []

    with pytest.raises(ValueError, match="not a kind of domain topic"):
        Subscription("gossip", "unknown", "no such topics", registry)


def test_the_domains_setting_must_be_a_usable_pattern() -> None:
    with pytest.raises(ValueError, match="braces"):
        SERVICE.test_config(domains="t[a-z]{3}")
    with pytest.raises(ValueError, match="not a regular expression"):
        SERVICE.test_config(domains="(unclosed")
