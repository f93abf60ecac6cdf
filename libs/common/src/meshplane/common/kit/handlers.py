"""A service's handlers as a registry: event type → the function that handles it.

A handler is a short async function of the event's data, the service's dependencies (its
service layer: gateway, caches, settings) and the :class:`~meshplane.common.messaging.EventContext`.
It observes, plans, executes and returns the audit :class:`~meshplane.common.messaging.Outcome`
— nothing else. It raises a :class:`~meshplane.common.errors.TemporaryError` to be retried later
and a :class:`~meshplane.common.errors.PermanentError` to be audited as failed; the kit does the
rest (see :mod:`meshplane.common.messaging.processing`). It may run twice for one event.

>>> handlers: Handlers[Provisioning] = Handlers()
>>> @handlers.on(ProductCreated)
... async def product_created(event: ProductCreated, svc: Provisioning, context: EventContext) -> Outcome:
...     ...

The registry is what the kit derives the accepted types, the dispatch and the AsyncAPI messages
from, so an event type is named once, on its handler.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

from meshplane.common.events import Envelope, EventData
from meshplane.common.messaging import EventContext, Outcome, Work

__all__ = ["Handler", "Handlers"]

_E = TypeVar("_E", bound=EventData)
_D = TypeVar("_D")

#: ``async def handler(event, dependencies, context) -> Outcome | Sequence[Outcome]``
Handler = Callable[[_E, _D, EventContext], Awaitable[Outcome | Sequence[Outcome]]]


class Handlers(Generic[_D]):
    """Event type → handler, for one service whose handlers share dependencies of type ``_D``."""

    def __init__(self) -> None:
        self._by_type: dict[str, tuple[type[EventData], Handler[Any, _D]]] = {}

    def on(self, model: type[_E]) -> Callable[[Handler[_E, _D]], Handler[_E, _D]]:
        """Register the decorated function as the handler of ``model``'s event type."""
        if not model.EVENT_TYPE:
            raise ValueError(f"{model.__name__} is not a registered event type (see @event_type)")

        def register(handler: Handler[_E, _D]) -> Handler[_E, _D]:
            if model.EVENT_TYPE in self._by_type:
                raise ValueError(f"{model.EVENT_TYPE} has a handler already")
            self._by_type[model.EVENT_TYPE] = (model, handler)
            return handler

        return register

    @property
    def models(self) -> tuple[type[EventData], ...]:
        """The event models handled, in type order."""
        return tuple(model for _, (model, _handler) in sorted(self._by_type.items()))

    @property
    def types(self) -> frozenset[str]:
        """The CloudEvents types handled: every other type is dead-lettered as unknown to the service."""
        return frozenset(self._by_type)

    def work(self, dependencies: _D) -> Work:
        """The processor's work function: dispatch each decoded event to its handler."""

        async def dispatch(envelope: Envelope[EventData], context: EventContext) -> Sequence[Outcome]:
            entry = self._by_type.get(envelope.type)
            if entry is None:  # the processor decodes with `accepts=self.types`, so never here
                raise TypeError(f"no handler for {envelope.type}")
            _model, handler = entry
            result = await handler(envelope.data, dependencies, context)
            return (result,) if isinstance(result, Outcome) else tuple(result)

        return dispatch
