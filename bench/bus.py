"""Bus throughput: deliveries per second for one publisher and four no-op subscribers on one topic.

A bare FIFO loop doing the same calls (no stats, no isolation, no wildcard routing) runs interleaved with the
bus in the same process, and their ratio is printed too: on a noisy machine the ratio is the figure to trust.
Prints one JSON line per figure."""

from __future__ import annotations

import argparse
import sys
from collections import deque
from collections.abc import Callable
from time import perf_counter
from typing import Any

from common import emit, load_average, median

from dopebot.core.bus import Bus

TOPIC = "market/binance/BTC-USDT/candles/1m"
SUBSCRIBERS = 4
TARGET = 5_000_000


def no_op_handlers() -> list[Callable[[Any], None]]:
    def make() -> Callable[[Any], None]:
        def handler(message: Any) -> None:
            pass

        return handler

    return [make() for _ in range(SUBSCRIBERS)]


def bus_run(publishes: int) -> float:
    bus = Bus()
    for handler in no_op_handlers():
        bus.subscribe(TOPIC, handler)
    publish, message = bus.publish, object()
    start = perf_counter()
    for _ in range(publishes):
        publish(TOPIC, message)
    elapsed = perf_counter() - start
    assert bus.stats.delivered == publishes * SUBSCRIBERS and bus.stats.errors == 0
    return publishes * SUBSCRIBERS / elapsed


def baseline_run(publishes: int) -> float:
    """The least a FIFO dispatcher can do: append, pop, look the topic up, call each handler."""
    queue: deque[tuple[str, Any]] = deque()
    routes = {TOPIC: tuple(no_op_handlers())}

    def publish(topic: str, message: Any) -> None:
        queue.append((topic, message))
        while queue:
            topic, message = queue.popleft()
            for handler in routes[topic]:
                handler(message)

    message = object()
    start = perf_counter()
    for _ in range(publishes):
        publish(TOPIC, message)
    elapsed = perf_counter() - start
    return publishes * SUBSCRIBERS / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--publishes", type=int, default=1_000_000, help="publishes per run")
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()

    loadavg_at_start = load_average()
    bus_run(options.publishes // 10)  # warm up both paths
    baseline_run(options.publishes // 10)
    bus_runs, baseline_runs = [], []
    for _ in range(options.runs):  # interleaved, so both see the same background load
        bus_runs.append(bus_run(options.publishes))
        baseline_runs.append(baseline_run(options.publishes))

    common = {"publishes_per_run": options.publishes, "subscribers": SUBSCRIBERS,
              "loadavg_at_start": loadavg_at_start, "python": sys.version.split()[0]}
    bus_median, baseline_median = median(bus_runs), median(baseline_runs)
    emit("bus_deliveries_per_second", round(bus_median), "deliveries/s", runs=[round(run) for run in bus_runs],
         target=TARGET, **common)
    emit("baseline_fifo_deliveries_per_second", round(baseline_median), "deliveries/s",
         runs=[round(run) for run in baseline_runs], **common)
    ratios = [bus / baseline for bus, baseline in zip(bus_runs, baseline_runs, strict=True)]  # paired: same load
    emit("bus_to_baseline_ratio", round(median(ratios), 3), "ratio", runs=[round(ratio, 3) for ratio in ratios],
         **common)


if __name__ == "__main__":
    main()
