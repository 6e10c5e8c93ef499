"""In-process pub/sub with MQTT-style topics and synchronous, deterministic FIFO dispatch.

`publish` appends to one FIFO and the outermost call drains it, so every subscriber sees message N before
anybody sees what N caused, in backtest and live alike. Subscribers of a topic are resolved once per topic
and cached; a subscriber that raises is isolated (logged, counted) and the bus goes on.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dopebot.core.topics import matches

Handler = Callable[[Any], None]
log = logging.getLogger("dopebot.bus")


@dataclass(frozen=True, slots=True)
class BusStats:
    published: int
    delivered: int
    errors: int
    first_error: str


@dataclass(frozen=True, slots=True)
class Subscription:
    topic_filter: str
    handler: Handler
    name: str


class Bus:
    """Synchronous FIFO bus; one per node, never shared between runs."""

    __slots__ = ("_delivered", "_draining", "_errors", "_first_error", "_published", "_queue", "_routes",
                 "_subscriptions")

    def __init__(self) -> None:
        self._subscriptions: list[Subscription] = []
        self._routes: dict[str, tuple[Handler, ...]] = {}
        self._queue: deque[tuple[str, Any]] = deque()
        self._draining = False
        self._published = 0
        self._delivered = 0
        self._errors = 0
        self._first_error = ""

    def subscribe(self, topic_filter: str, handler: Handler, name: str | None = None) -> Subscription:
        """Handlers of one message run in subscription order; wire components in the order they must see data."""
        subscription = Subscription(topic_filter, handler, name or getattr(handler, "__qualname__", repr(handler)))
        self._subscriptions.append(subscription)
        self._routes.clear()
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscriptions.remove(subscription)
        self._routes.clear()

    def _resolve(self, topic: str) -> tuple[Handler, ...]:
        handlers = tuple(s.handler for s in self._subscriptions if matches(s.topic_filter, topic))
        self._routes[topic] = handlers
        return handlers

    def publish(self, topic: str, message: Any) -> None:
        if self._draining:  # published by a subscriber: runs after everything already queued
            self._queue.append((topic, message))
            return
        # outermost publish: nothing is queued, so this message goes first; then drain what it caused
        self._draining = True
        try:
            handlers = self._routes.get(topic)
            if handlers is None:
                handlers = self._resolve(topic)
            self._published += 1
            self._delivered += len(handlers)
            for handler in handlers:
                try:
                    handler(message)
                except Exception as error:  # isolation: one bad subscriber must not stop the others
                    self._record_error(topic, handler, error)
            if self._queue:
                self._drain()
        finally:
            self._draining = False

    def _drain(self) -> None:
        queue, routes = self._queue, self._routes
        published = delivered = 0
        try:
            while queue:
                topic, message = queue.popleft()
                handlers = routes.get(topic)
                if handlers is None:
                    handlers = self._resolve(topic)
                published += 1
                delivered += len(handlers)
                for handler in handlers:
                    try:
                        handler(message)
                    except Exception as error:
                        self._record_error(topic, handler, error)
        finally:
            queue.clear()  # only non-empty if a BaseException escaped: do not replay stale messages later
            self._published += published
            self._delivered += delivered

    def _record_error(self, topic: str, handler: Handler, error: Exception) -> None:
        self._errors += 1
        name = getattr(handler, "__qualname__", repr(handler))
        if self._errors == 1:
            self._first_error = f"{name} on {topic}: {type(error).__name__}: {error}"
        if self._errors <= 10:
            log.error("subscriber %s failed on %s: %s", name, topic, error, exc_info=error)

    @property
    def stats(self) -> BusStats:
        return BusStats(self._published, self._delivered, self._errors, self._first_error)
