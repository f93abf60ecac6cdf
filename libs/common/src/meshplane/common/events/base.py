"""What every event's data has in common: its versioned type, its domain, and its Kafka key.

Each event type is a pydantic model registered under its CloudEvents ``type``
(``mesh.product.created.v1``) with :func:`event_type`. The registry is how a consumer turns a
``ce_type`` header into a model, and how ``docs/events/`` and the AsyncAPI document are generated.
A breaking change to a model is a new type (``….v2``) beside the old one, never an edit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict

__all__ = ["EVENT_TYPES", "AboutOneProduct", "EventData", "EventPart", "event_type"]


class EventPart(BaseModel):
    """A nested part of an event's data: frozen, and no field it does not declare."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class EventData(BaseModel):
    """The JSON data of a mesh event. Subclasses say which domain and product the event is about."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: The CloudEvents ``type`` this model is registered under.
    EVENT_TYPE: ClassVar[str] = ""

    @property
    def event_domain(self) -> str | None:
        """The domain the event speaks for (None when it does not name one)."""
        raise NotImplementedError

    @property
    def event_key(self) -> str | None:
        """The Kafka key: the product id, so that all events of one product stay in order."""
        raise NotImplementedError


class AboutOneProduct:
    """Mixed into the data of an event that names one product by ``domain`` and ``product``: the
    event speaks for that domain and is keyed by the product id, so one product's events stay in
    order. Put it before :class:`EventData` among the bases; the model declares the two fields."""

    if TYPE_CHECKING:  # declared by each model (with its own validation), not here
        domain: str
        product: str

    @property
    def product_id(self) -> str:
        return f"{self.domain}.{self.product}"

    @property
    def event_domain(self) -> str:
        return self.domain

    @property
    def event_key(self) -> str:
        return self.product_id


EVENT_TYPES: dict[str, type[EventData]] = {}

_E = TypeVar("_E", bound=type[EventData])


def event_type(name: str) -> Callable[[_E], _E]:
    """Register a model as the data of CloudEvents type ``name``."""

    def register(cls: _E) -> _E:
        if name in EVENT_TYPES:
            raise ValueError(f"event type {name} is registered twice")
        cls.EVENT_TYPE = name
        EVENT_TYPES[name] = cls
        return cls

    return register
