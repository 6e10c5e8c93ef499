"""Clocks: simulated time only moves forward; wall time is integer milliseconds since the epoch."""

from __future__ import annotations

import time

import pytest

from dopebot.core.clock import Clock, SimulatedClock, WallClock, monotonic_ns

T0 = 1_704_067_200_000  # 2024-01-01T00:00:00Z


def test_simulated_clock_starts_where_told_and_moves_forward() -> None:
    clock = SimulatedClock(T0)
    assert clock.now_ms() == T0
    clock.advance_to(T0 + 60_000)
    assert clock.now_ms() == T0 + 60_000
    clock.advance_to(T0 + 60_000)  # standing still is allowed (several events at one moment)
    assert clock.now_ms() == T0 + 60_000


def test_simulated_clock_defaults_to_zero() -> None:
    assert SimulatedClock().now_ms() == 0


def test_simulated_clock_never_goes_back() -> None:
    clock = SimulatedClock(T0)
    clock.advance_to(T0 + 1_000)
    with pytest.raises(ValueError, match=f"^simulated clock cannot go back from {T0 + 1_000} to {T0}$"):
        clock.advance_to(T0)
    assert clock.now_ms() == T0 + 1_000  # a refused move leaves the time unchanged


def test_wall_clock_returns_integer_milliseconds_of_now() -> None:
    before = time.time_ns() // 1_000_000
    now = WallClock().now_ms()
    after = time.time_ns() // 1_000_000
    assert type(now) is int
    assert before <= now <= after
    assert T0 < now < 4_102_444_800_000  # between 2024 and 2100: milliseconds, not seconds or nanoseconds


def test_monotonic_ns_never_decreases() -> None:
    readings = [monotonic_ns() for _ in range(1_000)]
    assert all(type(reading) is int for reading in readings)
    assert readings == sorted(readings)


def test_both_clocks_satisfy_the_protocol() -> None:
    def read(clock: Clock) -> int:
        return clock.now_ms()

    assert read(SimulatedClock(5)) == 5
    assert read(WallClock()) > T0
