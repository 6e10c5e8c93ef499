"""The only place that reads the wall clock. Domain code gets a Clock and never asks the OS for the time."""

from __future__ import annotations

import time
from typing import Any, Protocol


class Clock(Protocol):
    def now_ms(self) -> int: ...


class SimulatedClock:
    """Backtest time: moved forward by the replay driver, never backwards."""

    __slots__ = ("time",)

    def __init__(self, start_ms: int = 0) -> None:
        self.time = start_ms

    def now_ms(self) -> int:
        return self.time

    def advance_to(self, time_ms: int) -> None:
        if time_ms < self.time:
            raise ValueError(f"simulated clock cannot go back from {self.time} to {time_ms}")
        self.time = time_ms


class ReplayClock:
    """Backtest time without a per-candle update: now is the close of the candle the bus is replaying
    (`Bus.publish_each` keeps it in `current`), or the start before the first one."""

    __slots__ = ("_bus", "_start")

    def __init__(self, start_ms: int = 0) -> None:
        self._start = start_ms
        self._bus: Any = None

    def bind(self, bus: Any) -> None:
        self._bus = bus

    def now_ms(self) -> int:
        current = self._bus.current if self._bus is not None else None
        return current.time if current is not None else self._start


class WallClock:
    """Paper and live time."""

    __slots__ = ()

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000


def monotonic_ns() -> int:
    """For measuring latencies, never for timestamps."""
    return time.perf_counter_ns()
