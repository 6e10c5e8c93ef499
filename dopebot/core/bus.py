"""In-process pub/sub with MQTT-style topics and synchronous, deterministic FIFO dispatch.

`publish` appends to one FIFO and the outermost call drains it, so every subscriber sees message N before
anybody sees what N caused, in backtest and live alike. Subscribers of a topic are resolved once per topic
and cached; a subscriber that raises is isolated (logged, counted) and the bus goes on.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from dopebot.core.topics import matches

Handler = Callable[[Any], None]
Follower = tuple[str, Iterator[Any]]  # (topic, one item or None per message), see Bus.publish_each
log = logging.getLogger("dopebot.bus")
_END = object()  # marks the end of a batch


@dataclass(frozen=True, slots=True)
class BusStats:
    published: int
    delivered: int
    errors: int
    first_error: str


@dataclass(frozen=True, slots=True, eq=False)  # identity, not value: two equal subscriptions are two
class Subscription:
    topic_filter: str
    handler: Handler
    name: str


class Gate:
    """A hook `Bus.publish_each` runs ahead of each message while its owner keeps it switched on (the
    simulated venue: on while orders wait, off otherwise, so quiet candles skip the call). Switch it on from
    a subscriber to something published (the venue does it on receiving an order): a batch looks at the gate
    after draining what a message caused, not between every two messages."""

    __slots__ = ("hook",)

    def __init__(self, hook: Handler | None = None) -> None:
        self.hook = hook


class Bus:
    """Synchronous FIFO bus; one per node, never shared between runs."""

    __slots__ = ("_delivered", "_draining", "_errors", "_first_error", "_published", "_queue", "_routes",
                 "_subscriptions", "_version", "current")

    def __init__(self) -> None:
        self._subscriptions: list[Subscription] = []
        self._routes: dict[str, tuple[Handler, ...]] = {}
        self._queue: deque[tuple[str, Any]] = deque()
        self._draining = False
        self._published = 0
        self._delivered = 0
        self._errors = 0
        self._first_error = ""
        self._version = 0  # bumped on every (un)subscribe so batch dispatch can notice
        self.current: Any = None  # the message publish_each is dispatching (a replay's notion of "now")

    def subscribe(self, topic_filter: str, handler: Handler, name: str | None = None) -> Subscription:
        """Handlers of one message run in subscription order; wire components in the order they must see data."""
        subscription = Subscription(topic_filter, handler, name or getattr(handler, "__qualname__", repr(handler)))
        self._subscriptions.append(subscription)
        self._routes.clear()
        self._version += 1
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscriptions = [s for s in self._subscriptions if s is not subscription]
        self._routes.clear()
        self._version += 1

    def _resolve(self, topic: str) -> tuple[Handler, ...]:
        handlers = tuple(s.handler for s in self._subscriptions if matches(s.topic_filter, topic))
        self._routes[topic] = handlers
        return handlers

    def has_subscribers(self, topic: str) -> bool:
        """Lets a publisher skip building a message nobody would receive (resolved once per topic)."""
        handlers = self._routes.get(topic)
        if handlers is None:
            handlers = self._resolve(topic)
        return bool(handlers)

    def publish(self, topic: str, message: Any) -> None:
        if self._draining:  # published by a subscriber: runs after everything already queued
            self._queue.append((topic, message))
            return
        # outermost publish: nothing is queued, so this message goes first; then drain what it caused
        self._draining = True
        try:
            self._published += 1
            self._deliver(topic, message)
            if self._queue:
                self._drain()
        finally:
            self._draining = False
            self._queue.clear()  # non-empty only if a BaseException escaped: never replay stale messages

    def publish_each(self, topic: str, messages: Iterable[Any], gate: Gate | None = None,
                     followers: Sequence[Follower] = ()) -> int:
        """Publish many messages to one topic, each exactly as `publish` would (its consequences drained before
        the next message), with the route resolved and stats counted once per stretch: the replay hot path.

        While `gate.hook` is set, `hook(message)` runs ahead of the subscribers of each message and what it
        publishes is delivered before they see the message (the simulated venue matching orders against a
        candle). `current` holds the message being dispatched.

        Each follower (topic, iterator) is advanced once per message, in step with `messages`: an item that is
        not None is published on its topic right after the message and what it caused, as a subscriber reacting
        to the message would have published it (a replay's recorded predictions, one per candle).
        """
        if self._draining:
            raise RuntimeError("publish_each cannot be called from a subscriber")
        gate = gate or Gate()
        iterator = iter(messages)
        self._draining = True
        count = 0
        try:
            while True:
                hook = gate.hook
                if hook is not None:  # the venue has work: it sees this one message first
                    message = next(iterator, _END)
                    if message is _END:
                        break
                    count += 1
                    self.current = message
                    hook(message)
                    if self._queue:
                        self._drain()
                    self._deliver(topic, message)
                    if self._queue:
                        self._drain()
                    for follower_topic, following in followers:
                        extra = next(following)
                        if extra is not None:
                            count += 1
                            self._deliver(follower_topic, extra)
                            if self._queue:
                                self._drain()
                    continue
                # a stretch with no hook and fixed subscribers: the tight loop that most candles take
                stretch = self._stretch(topic, iterator, gate, followers)
                if stretch < 0:
                    count += -stretch - 1
                    break
                count += stretch
        finally:
            self._draining = False
            self.current = None
            self._queue.clear()
            self._published += count
        return count

    def _stretch(self, topic: str, iterator: Iterator[Any], gate: Gate, followers: Sequence[Follower]) -> int:
        """Dispatch until the gate opens or the subscribers change; return how many messages went, followers'
        items included (or -(count + 1) when the iterator ran out)."""
        handlers = self._routes.get(topic) or self._resolve(topic)
        queue, version, count = self._queue, self._version, 0
        if len(handlers) == 1 and not followers:  # a replay's trader, alone: the loop without the inner one
            handler = handlers[0]
            for count, message in enumerate(iterator, 1):  # noqa: B007 (read after the loop)
                self.current = message
                try:
                    handler(message)
                except Exception as error:
                    self._record_error(topic, handler, error)
                if queue:
                    self._drain()
                    if gate.hook is not None or self._version != version:
                        break
            else:
                self._delivered += count
                return -count - 1
            self._delivered += count
            return count
        advance = [(follower_topic, following.__next__) for follower_topic, following in followers]
        extras = 0
        for count, message in enumerate(iterator, 1):  # noqa: B007 (read after the loop)
            self.current = message
            for handler in handlers:
                try:
                    handler(message)
                except Exception as error:
                    self._record_error(topic, handler, error)
            if queue:
                self._drain()
            for follower_topic, following in advance:  # e.g. a recorded prediction for this candle
                extra = following()
                if extra is not None:
                    extras += 1
                    self._deliver(follower_topic, extra)
                    if queue:
                        self._drain()
            if gate.hook is not None or self._version != version:
                break
        else:
            self._delivered += count * len(handlers)
            return -(count + extras) - 1
        self._delivered += count * len(handlers)
        return count + extras

    def _deliver(self, topic: str, message: Any) -> None:
        """One message to every subscriber of its topic, in subscription order; a subscriber that raises is
        isolated (logged, counted) and the others still get the message. What they publish stays queued."""
        handlers = self._routes.get(topic)
        if handlers is None:
            handlers = self._resolve(topic)
        self._delivered += len(handlers)
        for handler in handlers:
            try:
                handler(message)
            except Exception as error:
                self._record_error(topic, handler, error)

    def _drain(self) -> None:
        """Deliver what subscribers published, oldest first, until nothing is left (what it causes included)."""
        queue = self._queue
        while queue:
            topic, message = queue.popleft()
            self._published += 1
            self._deliver(topic, message)

    def _record_error(self, topic: str, handler: Handler, error: Exception) -> None:
        self._errors += 1
        name = next((s.name for s in self._subscriptions if s.handler == handler and matches(s.topic_filter, topic)),
                    getattr(handler, "__qualname__", repr(handler)))
        if self._errors == 1:
            self._first_error = f"{name} on {topic}: {type(error).__name__}: {error}"
        if self._errors <= 10:
            log.error("subscriber %s failed on %s: %s", name, topic, error, exc_info=error)

    @property
    def stats(self) -> BusStats:
        return BusStats(self._published, self._delivered, self._errors, self._first_error)
