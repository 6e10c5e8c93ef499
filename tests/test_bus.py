"""The bus's promise: synchronous FIFO dispatch (message N reaches everyone before anything N caused), delivery
in subscription order, MQTT filters, and isolation of subscribers that raise."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dopebot.core.bus import Bus, BusStats

Log = list[tuple[str, Any]]


def recorder(log: Log, name: str) -> Callable[[Any], None]:
    def handler(message: Any) -> None:
        log.append((name, message))

    return handler


def explode(message: Any) -> None:
    raise RuntimeError(f"boom {message}")


@pytest.fixture(autouse=True)
def _quiet_bus_log(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.CRITICAL, logger="dopebot.bus")


# --- FIFO semantics -------------------------------------------------------------------------------------------


def test_every_subscriber_sees_message_n_before_anyone_sees_what_n_caused() -> None:
    bus, log = Bus(), []

    def first(message: str) -> None:
        log.append(("first", message))
        bus.publish("b", f"{message}>b1")
        bus.publish("b", f"{message}>b2")

    def on_b(message: str) -> None:
        log.append(("on_b", message))
        bus.publish("c", f"{message}>c")

    bus.subscribe("a", first)
    bus.subscribe("a", recorder(log, "second"))
    bus.subscribe("b", on_b)
    bus.subscribe("c", recorder(log, "on_c"))
    bus.subscribe("#", recorder(log, "all"))

    bus.publish("a", "m")

    assert log == [
        ("first", "m"), ("second", "m"), ("all", "m"),
        ("on_b", "m>b1"), ("all", "m>b1"),
        ("on_b", "m>b2"), ("all", "m>b2"),
        ("on_c", "m>b1>c"), ("all", "m>b1>c"),
        ("on_c", "m>b2>c"), ("all", "m>b2>c"),
    ]
    assert bus.stats == BusStats(published=5, delivered=11, errors=0, first_error="")


def test_a_message_published_during_dispatch_waits_for_the_current_message_to_finish() -> None:
    bus, log = Bus(), []

    def publisher(message: str) -> None:
        log.append(("publisher:before", message))
        bus.publish("x", "caused")
        log.append(("publisher:after", message))  # publish returned before "caused" was delivered

    bus.subscribe("x", lambda message: log.append(("x", message)))
    bus.subscribe("start", publisher)
    bus.subscribe("start", recorder(log, "late"))

    bus.publish("start", "go")

    assert log == [
        ("publisher:before", "go"), ("publisher:after", "go"), ("late", "go"), ("x", "caused"),
    ]


def test_nested_publishes_from_several_levels_are_breadth_first() -> None:
    bus, log = Bus(), []
    depth = 4

    def level(index: int) -> Callable[[str], None]:
        def handler(message: str) -> None:
            log.append(f"L{index}:{message}")
            if index < depth:
                bus.publish(f"level/{index + 1}", f"{message}.0")
                bus.publish(f"level/{index + 1}", f"{message}.1")

        return handler

    for index in range(depth + 1):
        bus.subscribe(f"level/{index}", level(index))

    bus.publish("level/0", "r")

    # the tree root, then its 2 children, 4 grandchildren, ... each level completely before the next
    expected, frontier = [], ["r"]
    for index in range(depth + 1):
        expected += [f"L{index}:{message}" for message in frontier]
        frontier = [f"{message}.{child}" for message in frontier for child in (0, 1)]
    assert log == expected
    assert bus.stats.published == 2 ** (depth + 1) - 1
    assert bus.stats.delivered == 2 ** (depth + 1) - 1


def test_successive_outer_publishes_are_each_fully_drained_before_the_next() -> None:
    bus, log = Bus(), []
    bus.subscribe("a", lambda message: bus.publish("b", f"{message}!"))
    bus.subscribe("#", recorder(log, "all"))

    bus.publish("a", 1)
    bus.publish("a", 2)

    assert log == [("all", 1), ("all", "1!"), ("all", 2), ("all", "2!")]


def test_subscription_order_is_delivery_order() -> None:
    bus, log = Bus(), []
    names = ["risk", "trader", "portfolio", "recorder", "tui"]
    filters = ["fills/binance/BTC-USDT", "fills/#", "fills/+/BTC-USDT", "#", "fills/binance/+"]
    for name, topic_filter in zip(names, filters, strict=True):
        bus.subscribe(topic_filter, recorder(log, name))

    bus.publish("fills/binance/BTC-USDT", "fill-1")

    assert [name for name, _ in log] == names
    assert {message for _, message in log} == {"fill-1"}


def test_the_same_handler_subscribed_twice_is_called_twice() -> None:
    bus, log = Bus(), []
    handler = recorder(log, "h")
    bus.subscribe("t", handler)
    bus.subscribe("#", handler)
    bus.publish("t", 1)
    assert log == [("h", 1), ("h", 1)]
    assert bus.stats.delivered == 2


# --- filters and the route cache ------------------------------------------------------------------------------


def test_plus_and_hash_filters_route_by_level() -> None:
    bus, log = Bus(), []
    bus.subscribe("market/+/BTC-USDT/candles/1m", recorder(log, "plus"))
    bus.subscribe("market/#", recorder(log, "market-hash"))
    bus.subscribe("#", recorder(log, "root-hash"))
    bus.subscribe("market/binance/+", recorder(log, "one-level"))

    bus.publish("market/binance/BTC-USDT/candles/1m", "c1")
    bus.publish("market/okx/ETH-USDT/candles/1m", "c2")
    bus.publish("market/binance/trades", "t1")
    bus.publish("account/equity", "e1")

    assert log == [
        ("plus", "c1"), ("market-hash", "c1"), ("root-hash", "c1"),
        ("market-hash", "c2"), ("root-hash", "c2"),
        ("market-hash", "t1"), ("root-hash", "t1"), ("one-level", "t1"),
        ("root-hash", "e1"),
    ]


def test_a_topic_nobody_listens_to_is_counted_but_delivered_to_no_one() -> None:
    bus = Bus()
    bus.subscribe("a", lambda message: None)
    bus.publish("b", 1)
    assert bus.stats == BusStats(published=1, delivered=0, errors=0, first_error="")


def test_subscribing_after_the_first_publish_invalidates_the_route_cache() -> None:
    bus, log = Bus(), []
    bus.subscribe("t/x", recorder(log, "early"))
    bus.publish("t/x", 1)  # routes for t/x are now cached
    bus.publish("t/y", 1)  # cached as "nobody"

    bus.subscribe("t/+", recorder(log, "late"))
    bus.publish("t/x", 2)
    bus.publish("t/y", 2)

    assert log == [("early", 1), ("early", 2), ("late", 2), ("late", 2)]


def test_unsubscribing_invalidates_the_route_cache() -> None:
    bus, log = Bus(), []
    keep = bus.subscribe("t", recorder(log, "keep"))
    gone = bus.subscribe("#", recorder(log, "gone"))
    bus.publish("t", 1)

    bus.unsubscribe(gone)
    bus.publish("t", 2)
    bus.unsubscribe(keep)
    bus.publish("t", 3)

    assert log == [("keep", 1), ("gone", 1), ("keep", 2)]
    assert bus.stats.delivered == 3


def test_subscribe_returns_the_subscription_with_its_name() -> None:
    bus = Bus()

    def on_candle(message: Any) -> None: ...

    named = bus.subscribe("market/#", on_candle, name="features")
    unnamed = bus.subscribe("market/#", on_candle)
    assert (named.topic_filter, named.handler, named.name) == ("market/#", on_candle, "features")
    assert unnamed.name == on_candle.__qualname__


def test_unsubscribing_one_of_two_equal_subscriptions_keeps_the_order_of_the_other() -> None:
    """Subscriptions are identities: removing the later of two identical ones must not remove the earlier.
    (Fails while `Subscription` compares by value: list.remove drops the first equal one.)"""
    bus, log = Bus(), []
    handler = recorder(log, "h")
    bus.subscribe("t", handler, name="h")
    bus.subscribe("t", recorder(log, "other"))
    second = bus.subscribe("t", handler, name="h")

    bus.unsubscribe(second)
    bus.publish("t", 1)

    assert log == [("h", 1), ("other", 1)]


# --- isolation of failing subscribers -------------------------------------------------------------------------


def test_a_raising_subscriber_is_isolated_counted_and_named() -> None:
    bus, log = Bus(), []
    bus.subscribe("orders/binance/BTC-USDT", recorder(log, "before"))
    bus.subscribe("orders/binance/BTC-USDT", explode)
    bus.subscribe("orders/binance/BTC-USDT", recorder(log, "after"))

    bus.publish("orders/binance/BTC-USDT", 1)

    assert log == [("before", 1), ("after", 1)]
    assert bus.stats == BusStats(
        published=1, delivered=3, errors=1,  # delivered counts handler calls, the failed one included
        first_error="explode on orders/binance/BTC-USDT: RuntimeError: boom 1",
    )

    # the bus keeps working, and first_error keeps the first failure
    bus.publish("orders/binance/BTC-USDT", 2)
    assert log == [("before", 1), ("after", 1), ("before", 2), ("after", 2)]
    assert bus.stats == BusStats(
        published=2, delivered=6, errors=2, first_error="explode on orders/binance/BTC-USDT: RuntimeError: boom 1",
    )


def test_first_error_names_the_subscription_by_the_name_it_was_given() -> None:
    """`subscribe(..., name=...)` exists to name the subscriber in diagnostics; a lambda's qualname says nothing."""
    bus = Bus()
    bus.subscribe("fills/#", lambda message: 1 / 0, name="risk")
    bus.publish("fills/binance/BTC-USDT", 1)
    assert bus.stats.first_error == "risk on fills/binance/BTC-USDT: ZeroDivisionError: division by zero"


def test_a_subscriber_that_raises_after_publishing_still_gets_its_messages_delivered() -> None:
    bus, log = Bus(), []

    def publish_then_fail(message: str) -> None:
        bus.publish("caused", f"{message}>caused")
        raise ValueError("bad input")

    bus.subscribe("start", publish_then_fail)
    bus.subscribe("start", recorder(log, "sibling"))
    bus.subscribe("caused", recorder(log, "downstream"))
    bus.subscribe("caused", explode)  # fails inside the drain, not only in the outermost dispatch
    bus.subscribe("caused", recorder(log, "downstream-after"))

    bus.publish("start", "m")

    assert log == [("sibling", "m"), ("downstream", "m>caused"), ("downstream-after", "m>caused")]
    assert bus.stats.errors == 2
    assert bus.stats.first_error == (
        f"{publish_then_fail.__qualname__} on start: ValueError: bad input"
    )
    assert (bus.stats.published, bus.stats.delivered) == (2, 5)

    bus.publish("caused", "again")
    assert log[-2:] == [("downstream", "again"), ("downstream-after", "again")]


def test_a_base_exception_escapes_and_leaves_no_stale_messages_behind() -> None:
    """KeyboardInterrupt is not isolated (it must stop the program), but messages queued before it must not be
    replayed after a later, unrelated publish."""
    bus, log = Bus(), []

    def publish_then_interrupt(message: str) -> None:
        bus.publish("caused", message)
        raise KeyboardInterrupt

    bus.subscribe("start", publish_then_interrupt)
    bus.subscribe("#", recorder(log, "all"))

    with pytest.raises(KeyboardInterrupt):
        bus.publish("start", "m1")
    bus.publish("other", "m2")

    assert log == [("all", "m2")]


def test_a_base_exception_inside_the_drain_leaves_no_stale_messages_behind() -> None:
    bus, log = Bus(), []

    def interrupt_on_first(message: str) -> None:
        bus.publish("caused", f"{message}>again")
        raise KeyboardInterrupt

    bus.subscribe("start", lambda message: bus.publish("step", message))
    bus.subscribe("step", interrupt_on_first)
    bus.subscribe("#", recorder(log, "all"))

    with pytest.raises(KeyboardInterrupt):
        bus.publish("start", "m1")
    bus.publish("other", "m2")

    assert log == [("all", "m1"), ("all", "m2")]


# --- instances ------------------------------------------------------------------------------------------------


def test_two_buses_share_nothing() -> None:
    first, second, log = Bus(), Bus(), []
    first.subscribe("#", recorder(log, "first"))
    second.subscribe("t", explode)

    second.publish("t", 1)
    first.publish("t", 2)

    assert log == [("first", 2)]
    assert first.stats == BusStats(published=1, delivered=1, errors=0, first_error="")
    assert second.stats == BusStats(
        published=1, delivered=1, errors=1, first_error="explode on t: RuntimeError: boom 1",
    )


def test_publishing_on_another_bus_during_dispatch_is_not_deferred_by_this_bus() -> None:
    first, second, log = Bus(), Bus(), []
    second.subscribe("t", recorder(log, "second"))

    def forward(message: str) -> None:
        log.append(("forward:before", message))
        second.publish("t", message)  # second bus is idle: it dispatches at once
        log.append(("forward:after", message))

    first.subscribe("t", forward)
    first.publish("t", "m")

    assert log == [("forward:before", "m"), ("second", "m"), ("forward:after", "m")]


# --- property: delivery order is the breadth-first order of the causal graph ------------------------------------

NODES = 5


@st.composite
def rule_sets(draw: st.DrawFn) -> list[tuple[int, list[int]]]:
    """Rules 'on topic n/i, publish on n/j for each j in targets', j > i so the graph is a DAG."""
    rules = []
    for _ in range(draw(st.integers(min_value=0, max_value=7))):
        source = draw(st.integers(min_value=0, max_value=NODES - 2))
        targets = draw(st.lists(st.integers(min_value=source + 1, max_value=NODES - 1), max_size=2))
        rules.append((source, targets))
    return rules


def expected_deliveries(rules: list[tuple[int, list[int]]], roots: list[int]) -> list[tuple[int, tuple]]:
    """What each subscriber should see, in order, computed with an explicit queue per outer publish."""
    seen: list[tuple[int, tuple]] = []
    for root in roots:
        queue: deque[tuple[int, tuple]] = deque([(root, ("root", root))])
        while queue:
            node, message = queue.popleft()
            seen.append((-1, message))  # the '#' observer subscribed first
            for rule_id, (source, targets) in enumerate(rules):
                if source != node:
                    continue
                seen.append((rule_id, message))
                queue.extend((target, (*message, rule_id, index)) for index, target in enumerate(targets))
    return seen


@settings(max_examples=150, deadline=None)
@given(rules=rule_sets(), roots=st.lists(st.integers(min_value=0, max_value=NODES - 1), min_size=1, max_size=3))
def test_delivery_order_is_the_breadth_first_order_of_the_causal_graph(
    rules: list[tuple[int, list[int]]], roots: list[int],
) -> None:
    bus, seen = Bus(), []
    bus.subscribe("n/#", lambda message: seen.append((-1, message)))

    def rule(rule_id: int, targets: list[int]) -> Callable[[tuple], None]:
        def handler(message: tuple) -> None:
            seen.append((rule_id, message))
            for index, target in enumerate(targets):
                bus.publish(f"n/{target}", (*message, rule_id, index))

        return handler

    for rule_id, (source, targets) in enumerate(rules):
        bus.subscribe(f"n/{source}", rule(rule_id, targets))

    for root in roots:
        bus.publish(f"n/{root}", ("root", root))

    expected = expected_deliveries(rules, roots)
    assert seen == expected
    assert bus.stats.delivered == len(expected)
    assert bus.stats.published == sum(1 for subscriber, _ in expected if subscriber == -1)
    assert bus.stats.errors == 0
