"""`Bus.publish_each`, the replay's dispatch: the same order of delivery as one `publish` per message."""

from __future__ import annotations

from dopebot.core.bus import Bus, Gate
from dopebot.core.clock import ReplayClock
from dopebot.core.types import Candle


def candle(time: int) -> Candle:
    return Candle("X", time, 1.0, 1.0, 1.0, 1.0, 1.0)


def wire(bus: Bus, log: list[str]) -> None:
    def on_candle(message: Candle) -> None:
        log.append(f"trader sees {message.time}")
        if message.time == 2:
            bus.publish("orders", "buy")

    bus.subscribe("candles", on_candle)
    bus.subscribe("orders", lambda order: log.append(f"broker gets {order}"))
    bus.subscribe("fills", lambda fill: log.append(f"portfolio gets {fill}"))


def test_batch_delivers_like_single_publishes_and_the_gate_runs_first() -> None:
    single, batch = [], []
    for log, use_batch in ((single, False), (batch, True)):
        bus = Bus()
        wire(bus, log)
        gate = Gate()

        def venue(message: Candle, bus: Bus = bus, gate: Gate = gate, log: list[str] = log) -> None:
            log.append(f"venue matches {message.time}")
            bus.publish("fills", f"fill@{message.time}")
            gate.hook = None  # nothing left to match

        bus.subscribe("orders", lambda order, gate=gate, venue=venue: setattr(gate, "hook", venue))
        if use_batch:
            assert bus.publish_each("candles", map(candle, range(1, 5)), gate) == 4
        else:
            for time in range(1, 5):
                if gate.hook is not None:
                    gate.hook(candle(time))
                bus.publish("candles", candle(time))
    assert batch == single == [
        "trader sees 1", "trader sees 2", "broker gets buy",
        "venue matches 3", "portfolio gets fill@3", "trader sees 3", "trader sees 4",
    ]


def test_replay_clock_reads_the_candle_being_dispatched() -> None:
    bus = Bus()
    clock = ReplayClock(start_ms=5)
    clock.bind(bus)
    seen: list[int] = []
    bus.subscribe("candles", lambda message: seen.append(clock.now_ms()))
    assert clock.now_ms() == 5
    bus.publish_each("candles", map(candle, (60_000, 120_000)))
    assert seen == [60_000, 120_000]
    assert clock.now_ms() == 5 and bus.current is None
    stats = bus.stats
    assert (stats.published, stats.delivered) == (2, 2)


def test_followers_come_after_each_message_and_its_consequences() -> None:
    """A replay's recorded predictions: one item per candle (None: nothing to say), delivered right after the
    candle and what it caused, through the gate's path as well as the tight one."""
    bus, log, gate = Bus(), [], Gate()
    wire(bus, log)
    bus.subscribe("predictions", lambda prediction: log.append(f"trader gets {prediction}"))

    def venue(message: Candle) -> None:
        log.append(f"venue matches {message.time}")
        gate.hook = None

    bus.subscribe("orders", lambda order: setattr(gate, "hook", venue))
    predictions = iter(["p1", "p2", "p3", None])
    assert bus.publish_each("candles", map(candle, range(1, 5)), gate, [("predictions", predictions)]) == 7
    assert log == [
        "trader sees 1", "trader gets p1",
        "trader sees 2", "broker gets buy", "trader gets p2",
        "venue matches 3", "trader sees 3", "trader gets p3",  # the gate's path
        "trader sees 4",  # None: no prediction for candle 4
    ]
    stats = bus.stats
    # 4 candles + 3 predictions + 1 order published; 4 + 3 + 2 (the order's two subscribers) delivered
    assert (stats.published, stats.delivered, stats.errors) == (8, 9, 0)
