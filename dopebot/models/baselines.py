"""Simple models that need no training: the canary next to LightGBM, and a predictor for the threshold
strategy before any model is trained. Each is defined once and computed in batch and incrementally."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from dopebot.core.types import Candle


@dataclass(frozen=True)
class Momentum:
    """P(up) proxy: logistic of the `lookback`-candle log return in units of its expected spread
    (1-candle log-return standard deviation over `window` candles times sqrt(lookback))."""

    lookback: int = 30
    window: int = 120
    model_id: str = "momentum"
    kind: str = "score"

    @property
    def horizon(self) -> int:
        return self.lookback

    @property
    def warmup(self) -> int:
        return max(self.lookback, self.window)

    def batch(self, columns: dict[str, np.ndarray]) -> np.ndarray:
        """NaN while warming up. (pandas is imported here, not at the top: a backtest of a LightGBM model
        looks baselines up by name and must not pay for pandas.)"""
        import pandas as pd

        log_close = np.log(columns["close"])
        step = pd.Series(np.diff(log_close, prepend=np.nan))
        deviation = step.rolling(self.window, min_periods=self.window).std(ddof=1).to_numpy()
        move = log_close - pd.Series(log_close).shift(self.lookback).to_numpy()
        z = move / (deviation * math.sqrt(self.lookback))
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            return 1.0 / (1.0 + np.exp(-z))

    def incremental(self) -> MomentumState:
        return MomentumState(self.lookback, self.window)


class MomentumState:
    """O(1) per candle: running sums of 1-candle log returns and their squares."""

    __slots__ = ("_closes", "_lookback", "_returns", "_sum", "_sum_squares", "_window")

    def __init__(self, lookback: int, window: int) -> None:
        self._lookback, self._window = lookback, window
        self._closes: deque[float] = deque(maxlen=lookback + 1)
        self._returns: deque[float] = deque(maxlen=window)
        self._sum = self._sum_squares = 0.0

    def update(self, candle: Candle) -> float:
        log_close = math.log(candle.close)
        if self._closes:
            step = log_close - self._closes[-1]
            if len(self._returns) == self._window:
                old = self._returns[0]
                self._sum -= old
                self._sum_squares -= old * old
            self._returns.append(step)
            self._sum += step
            self._sum_squares += step * step
        self._closes.append(log_close)
        if len(self._returns) < self._window or len(self._closes) <= self._lookback:
            return math.nan
        n = self._window
        variance = (self._sum_squares - self._sum * self._sum / n) / (n - 1)
        if variance <= 0.0:
            return math.nan
        z = (log_close - self._closes[0]) / (math.sqrt(variance) * math.sqrt(self._lookback))
        return 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0


BASELINES = {"momentum": Momentum}
