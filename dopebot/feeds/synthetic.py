"""A generated market for offline demos and tests: a seeded random walk with volatility regimes and
trends, rounded to a price tick, so results are reproducible without any download."""

from __future__ import annotations

import numpy as np
import pandas as pd


def generate_candles(count: int, width_ms: int = 60_000, start_ms: int = 1_704_067_200_000,
                     start_price: float = 40_000.0, seed: int = 7, tick: float = 0.01) -> pd.DataFrame:
    """Candles in the on-disk schema (open time in ms). Each candle's open is the previous close."""
    rng = np.random.default_rng(seed)
    regime_length = 2_000
    regimes = -(-count // regime_length)
    drift = np.repeat(rng.normal(0.0, 2e-5, regimes), regime_length)[:count]
    vol = np.repeat(rng.uniform(4e-4, 1.6e-3, regimes), regime_length)[:count]
    steps = 8  # sub-steps per candle give a realistic high/low
    shocks = rng.standard_normal((count, steps)) * (vol / np.sqrt(steps))[:, None] + (drift / steps)[:, None]
    path = start_price * np.exp(np.cumsum(shocks.ravel())).reshape(count, steps)
    scale = round(1 / tick)  # divide by an integer: 4111759 / 100 is the double nearest 41117.59
    close = np.round(path[:, -1] * scale) / scale
    open_ = np.concatenate([[round(start_price * scale) / scale], close[:-1]])
    inner = np.round(path * scale) / scale
    high = np.maximum(inner.max(axis=1), np.maximum(open_, close))
    low = np.minimum(inner.min(axis=1), np.minimum(open_, close))
    volume = np.round(rng.gamma(2.0, 5.0, count) * (1 + 400 * np.abs(close / open_ - 1)), 5)
    return pd.DataFrame({
        "timestamp": start_ms + width_ms * np.arange(count, dtype=np.int64),
        "open": open_, "high": high, "low": low, "close": close, "volume": volume,
    })
