"""Strategy indicators, each defined once and computed two ways (vectorised and one candle at a time)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from dopebot.core.types import Candle

PRICE_SCALE = 100_000_000  # prices as integers of 1e-8: exchanges quote at most 8 decimals, so sums are exact


def scaled_prices(close: np.ndarray) -> np.ndarray:
    return np.rint(close * PRICE_SCALE).astype(np.int64)


def rolling_sum(values: np.ndarray, window: int) -> np.ndarray:
    """Exact integer rolling sums (no cumulative sum, which could overflow over years of candles)."""
    out = np.zeros(len(values), dtype=np.int64)
    if len(values) >= window:
        out[window - 1:] = np.lib.stride_tricks.sliding_window_view(values, window).sum(axis=1)
    return out


@dataclass(frozen=True)
class SmaCross:
    """+1 on the candle where SMA(fast) of close rises above SMA(slow), -1 where it falls below, else 0.

    A crossing needs a strict inequality now and the opposite-or-equal one on the previous candle (the
    usual crossed_above / crossed_below). Compared exactly on integer prices, so equal averages never
    count as a crossing through float noise. None until both averages exist on two candles.
    """

    fast: int = 20
    slow: int = 50

    @property
    def name(self) -> str:
        return f"sma_cross_{self.fast}_{self.slow}"

    def batch(self, columns: dict[str, np.ndarray]) -> list[int | None]:
        prices = scaled_prices(columns["close"])
        difference = self.slow * rolling_sum(prices, self.fast) - self.fast * rolling_sum(prices, self.slow)
        sign = np.sign(difference)
        previous = np.concatenate([[0], sign[:-1]])
        cross = np.where((sign > 0) & (previous <= 0), 1, np.where((sign < 0) & (previous >= 0), -1, 0))
        values: list[int | None] = cross.tolist()
        values[: min(self.slow, len(values))] = [None] * min(self.slow, len(values))
        return values

    def incremental(self) -> SmaCrossState:
        return SmaCrossState(self.fast, self.slow)


class SmaCrossState:
    """O(1) per candle: two running integer sums and the previous sign."""

    __slots__ = ("_fast", "_fast_sum", "_previous", "_slow", "_slow_sum", "_window")

    def __init__(self, fast: int, slow: int) -> None:
        self._fast, self._slow = fast, slow
        self._window: deque[int] = deque(maxlen=slow)
        self._fast_sum = self._slow_sum = 0
        self._previous: int | None = None

    def update(self, candle: Candle) -> int | None:
        price = round(candle.close * PRICE_SCALE)
        window = self._window
        if len(window) == self._slow:
            self._slow_sum -= window[0]
        if len(window) >= self._fast:
            self._fast_sum -= window[-self._fast]
        window.append(price)
        self._fast_sum += price
        self._slow_sum += price
        if len(window) < self._slow:
            return None
        difference = self._slow * self._fast_sum - self._fast * self._slow_sum
        sign = (difference > 0) - (difference < 0)
        previous, self._previous = self._previous, sign
        if previous is None:
            return None
        if sign > 0 >= previous:
            return 1
        if sign < 0 <= previous:
            return -1
        return 0
