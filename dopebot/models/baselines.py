"""Simple models that need no training: the canary next to LightGBM, and a predictor for the threshold
strategy before any model is trained. Each is defined once and computed in batch and incrementally."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from dopebot.core.types import Candle
from dopebot.market.rolling import WindowSum, window_sum


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
        """NaN while warming up. The return spread comes from the same block window sums as the incremental
        form (market.rolling), so both give the same values."""
        log_close = np.log(np.asarray(columns["close"], dtype=np.float64))
        steps = np.diff(log_close)  # steps[i]: the return into candle i + 1
        sums, squares = np.full(len(log_close), np.nan), np.full(len(log_close), np.nan)
        if len(steps):
            window_sum(steps, self.window, out=sums[1:])
            window_sum(steps * steps, self.window, out=squares[1:])
        move = np.full(len(log_close), np.nan)
        move[self.lookback:] = log_close[self.lookback:] - log_close[:-self.lookback]
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            variance = (squares - sums * sums / self.window) / (self.window - 1)
            variance[variance <= 0.0] = np.nan
            z = move / (np.sqrt(variance) * math.sqrt(self.lookback))
            return 1.0 / (1.0 + np.exp(-z))

    def incremental(self) -> MomentumState:
        return MomentumState(self.lookback, self.window)


class MomentumState:
    """O(1) per candle: window sums of 1-candle log returns and their squares (market.rolling.WindowSum)."""

    __slots__ = ("_closes", "_lookback", "_squares", "_sums", "_window")

    def __init__(self, lookback: int, window: int) -> None:
        self._lookback, self._window = lookback, window
        self._closes: deque[float] = deque(maxlen=lookback + 1)
        self._sums, self._squares = WindowSum(window), WindowSum(window)

    def update(self, candle: Candle) -> float:
        log_close = math.log(candle.close)
        total = squares = None
        if self._closes:
            step = log_close - self._closes[-1]
            total, squares = self._sums.update(step), self._squares.update(step * step)
        self._closes.append(log_close)
        if total is None or squares is None or len(self._closes) <= self._lookback:
            return math.nan
        n = self._window
        variance = (squares - total * total / n) / (n - 1)
        if variance <= 0.0:
            return math.nan
        z = (log_close - self._closes[0]) / (math.sqrt(variance) * math.sqrt(self._lookback))
        return 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0


BASELINES = {"momentum": Momentum}
