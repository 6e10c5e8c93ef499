"""The model feature set, version `FEATURE_SET_VERSION`, computed two ways from one set of definitions:
`batch_features` (vectorised over a candle frame, for train and backtest) and `IncrementalFeatures`
(one closed candle at a time, O(1) per feature, for paper/live). tests/test_features.py proves they agree.

Every feature at row t uses only candles closed at or before t. Windows count rows, not minutes (gaps in
the data are not filled). The first `WARMUP` rows are invalid (NaN in batch, None incrementally) and are
dropped by training, never back-filled.

Features (price p = close, r = 1-candle log return, o/h/l/c/v = the candle):
- ret_k        log(c_t / c_{t-k}) for k in RETURN_LAGS: momentum over several horizons
- rvol_w       sqrt(mean of r^2 over w rows): realised volatility
- rvol_ratio   rvol_15 / rvol_240: volatility regime change
- range        (h - l) / c; range_mean_w its rolling mean: intrabar activity
- rsi_n        Wilder RSI / 100 - 0.5 (0 when nothing moved)
- macd, macd_signal, macd_hist   (EMA12 - EMA26) / c, its EMA9, and their difference
- ema_gap      (EMA60 - EMA240) / c: slower trend
- vol_z_w      z-score of log1p(volume) over w rows (0 when the window has no variance)
- close_rel_w  c / SMA_w(c) - 1: stretch from the rolling mean
- stoch_60     position of c in the 60-row high-low range, centred (0 when the range is empty)
- body, upper_wick, lower_wick   candle shape relative to its range (0 for a flat candle)
- tod_sin/cos, dow_sin/cos       time of day and day of week of the candle's close, cyclic
- x_*          with a second symbol (e.g. ETH for BTC): ret_1, ret_15, ret_60, rvol_60, rsi_14 of it
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from dopebot.core.types import Candle
from dopebot.market.rolling import Ema, Lag, WindowExtreme, WindowSum

FEATURE_SET_VERSION = "ohlcv-v1"
RETURN_LAGS = (1, 3, 5, 15, 30, 60, 240)
VOL_WINDOWS = (15, 60, 240)
RANGE_WINDOWS = (15, 60)
RSI_PERIODS = (14, 60)
ZSCORE_WINDOWS = (15, 60, 240)
MEAN_WINDOWS = (15, 60, 240)
STOCH_WINDOW = 60
SECONDARY_PREFIX = "x_"
WARMUP = 720  # 3 x the longest window: EMAs have forgotten their starting value to ~0.25 %
DAY_MS = 86_400_000
_TAU = 2.0 * math.pi
_MIN_VARIANCE = 1e-12

PRIMARY_NAMES: tuple[str, ...] = (
    *(f"ret_{k}" for k in RETURN_LAGS), *(f"rvol_{w}" for w in VOL_WINDOWS), "rvol_ratio", "range",
    *(f"range_mean_{w}" for w in RANGE_WINDOWS), *(f"rsi_{n}" for n in RSI_PERIODS),
    "macd", "macd_signal", "macd_hist", "ema_gap", *(f"vol_z_{w}" for w in ZSCORE_WINDOWS),
    *(f"close_rel_{w}" for w in MEAN_WINDOWS), "stoch_60", "body", "upper_wick", "lower_wick",
    "tod_sin", "tod_cos", "dow_sin", "dow_cos",
)
SECONDARY_NAMES: tuple[str, ...] = tuple(SECONDARY_PREFIX + n for n in ("ret_1", "ret_15", "ret_60", "rvol_60",
                                                                        "rsi_14"))


def feature_names(secondary: bool = False) -> tuple[str, ...]:
    """Column order of the model input: primary features, then the second symbol's if used."""
    return PRIMARY_NAMES + (SECONDARY_NAMES if secondary else ())


def feature_set_id(secondary: bool = False) -> str:
    return FEATURE_SET_VERSION + ("+x" if secondary else "")


# ---------------------------------------------------------------- batch (vectorised) ------------------


def _rolling_sum(values: np.ndarray, window: int) -> np.ndarray:
    return pd.Series(values).rolling(window, min_periods=window).sum().to_numpy()


def _ema(values: np.ndarray, alpha: float) -> np.ndarray:
    return pd.Series(values).ewm(alpha=alpha, adjust=False).mean().to_numpy()


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator where denominator > 0, else 0 (same rule as the incremental path)."""
    positive = denominator > 0
    return np.where(positive, numerator / np.where(positive, denominator, 1.0), 0.0)


def _lagged(values: np.ndarray, lag: int) -> np.ndarray:
    out = np.full(len(values), np.nan)
    out[lag:] = values[:-lag]
    return out


def _rsi(close: np.ndarray, period: int) -> np.ndarray:
    change = close - _lagged(close, 1)
    gain = _ema(np.where(change > 0, change, 0.0) + change * 0, 1.0 / period)
    loss = _ema(np.where(change < 0, -change, 0.0) + change * 0, 1.0 / period)
    return _ratio(gain, gain + loss) - np.where(gain + loss > 0, 0.5, 0.0)


def _vol_z(volume: np.ndarray, window: int) -> np.ndarray:
    x = np.log1p(volume)
    mean = _rolling_sum(x, window) / window
    variance = _rolling_sum(x * x, window) / window - mean * mean
    enough = variance > _MIN_VARIANCE
    return np.where(enough, (x - mean) / np.sqrt(np.where(enough, variance, 1.0)), 0.0)


def _primary_batch(o: np.ndarray, h: np.ndarray, lo: np.ndarray, c: np.ndarray, v: np.ndarray,
                   close_time: np.ndarray) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {f"ret_{k}": np.log(c / _lagged(c, k)) for k in RETURN_LAGS}
    r = out["ret_1"]
    for w in VOL_WINDOWS:
        out[f"rvol_{w}"] = np.sqrt(_rolling_sum(r * r, w) / w)
    out["rvol_ratio"] = _ratio(out["rvol_15"], out["rvol_240"])
    out["range"] = (h - lo) / c
    for w in RANGE_WINDOWS:
        out[f"range_mean_{w}"] = _rolling_sum(out["range"], w) / w
    for n in RSI_PERIODS:
        out[f"rsi_{n}"] = _rsi(c, n)
    macd = (_ema(c, 2 / 13) - _ema(c, 2 / 27)) / c
    out["macd"], out["macd_signal"] = macd, _ema(macd, 2 / 10)
    out["macd_hist"] = macd - out["macd_signal"]
    out["ema_gap"] = (_ema(c, 2 / 61) - _ema(c, 2 / 241)) / c
    for w in ZSCORE_WINDOWS:
        out[f"vol_z_{w}"] = _vol_z(v, w)
    for w in MEAN_WINDOWS:
        out[f"close_rel_{w}"] = c / (_rolling_sum(c, w) / w) - 1.0
    high = pd.Series(h).rolling(STOCH_WINDOW).max().to_numpy()
    low = pd.Series(lo).rolling(STOCH_WINDOW).min().to_numpy()
    out["stoch_60"] = _ratio(c - low, high - low) - np.where(high > low, 0.5, 0.0)
    spread = h - lo
    out["body"] = _ratio(c - o, spread)
    out["upper_wick"] = _ratio(h - np.maximum(o, c), spread)
    out["lower_wick"] = _ratio(np.minimum(o, c) - lo, spread)
    day = (close_time % DAY_MS) / DAY_MS
    week = ((close_time // DAY_MS + 3) % 7) / 7.0
    out["tod_sin"], out["tod_cos"] = np.sin(_TAU * day), np.cos(_TAU * day)
    out["dow_sin"], out["dow_cos"] = np.sin(_TAU * week), np.cos(_TAU * week)
    return out


def _secondary_batch(frame: pd.DataFrame, timestamps: np.ndarray) -> dict[str, np.ndarray]:
    """The second symbol's features on its own rows, then aligned to the primary's timestamps (NaN if absent)."""
    c = frame["close"].to_numpy(dtype=float)
    r = np.log(c / _lagged(c, 1))
    own = {"ret_1": r, "ret_15": np.log(c / _lagged(c, 15)), "ret_60": np.log(c / _lagged(c, 60)),
           "rvol_60": np.sqrt(_rolling_sum(r * r, 60) / 60), "rsi_14": _rsi(c, 14)}
    index = pd.Index(frame["timestamp"].to_numpy())
    position = index.get_indexer(timestamps)
    found = position >= 0
    out = {}
    for name, values in own.items():
        aligned = np.full(len(timestamps), np.nan)
        aligned[found] = values[position[found]]
        out[SECONDARY_PREFIX + name] = aligned
    return out


def batch_features(frame: pd.DataFrame, width_ms: int, other: pd.DataFrame | None = None) -> pd.DataFrame:
    """Features for every row of `frame` (columns timestamp = open time ms, open, high, low, close, volume).

    Rows before WARMUP are NaN. With `other` (a second symbol's candles), x_* columns are added."""
    o, h, lo, c, v = (frame[n].to_numpy(dtype=float) for n in ("open", "high", "low", "close", "volume"))
    timestamps = frame["timestamp"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        columns = _primary_batch(o, h, lo, c, v, timestamps + width_ms)
        if other is not None:
            columns.update(_secondary_batch(other, timestamps))
    names = feature_names(other is not None)
    # one contiguous row per feature, handed to pandas transposed (column-major, pandas' own layout): filling
    # a row-major matrix column by column touches a new cache line per value and costs ~10x more
    matrix = np.empty((len(names), len(frame)))
    for row, name in enumerate(names):
        matrix[row] = columns[name]
    matrix[:, :WARMUP] = np.nan
    return pd.DataFrame(matrix.T, index=frame.index, columns=list(names), copy=False)


# ---------------------------------------------------------------- incremental (one candle at a time) --


def _ratio1(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else 0.0


class _Rsi:
    __slots__ = ("_gain", "_loss", "_prev")

    def __init__(self, period: int) -> None:
        self._gain, self._loss = Ema(1.0 / period), Ema(1.0 / period)
        self._prev = math.nan

    def update(self, close: float) -> float:
        change = close - self._prev
        self._prev = close
        if change != change:
            return math.nan
        gain = self._gain.update(change if change > 0 else 0.0)
        loss = self._loss.update(-change if change < 0 else 0.0)
        total = gain + loss
        return gain / total - 0.5 if total > 0 else 0.0


class _VolZ:
    __slots__ = ("_s1", "_s2", "_w")

    def __init__(self, window: int) -> None:
        self._w = window
        self._s1, self._s2 = WindowSum(window), WindowSum(window)

    def update(self, volume: float) -> float:
        x = math.log1p(volume)
        s1, s2 = self._s1.update(x), self._s2.update(x * x)
        if s1 is None or s2 is None:
            return math.nan
        mean = s1 / self._w
        variance = s2 / self._w - mean * mean
        return (x - mean) / math.sqrt(variance) if variance > _MIN_VARIANCE else 0.0


def _nan_if_none(value: float | None) -> float:
    return math.nan if value is None else value


class _Secondary:
    """The x_* features of a second symbol, updated with its own candles."""

    def __init__(self) -> None:
        self._lags = {k: Lag(k) for k in (1, 15, 60)}
        self._r2 = WindowSum(60)
        self._rsi = _Rsi(14)
        self.values: list[float] = [math.nan] * len(SECONDARY_NAMES)
        self.time = -1

    def update(self, candle: Candle) -> None:
        c = candle.close
        rets = {k: (math.log(c / lagged) if (lagged := lag.update(c)) is not None else math.nan)
                for k, lag in self._lags.items()}
        r = rets[1]
        s = self._r2.update(r * r) if r == r else None
        rvol = math.sqrt(s / 60) if s is not None else math.nan
        self.values = [r, rets[15], rets[60], rvol, self._rsi.update(c)]
        self.time = candle.time


class IncrementalFeatures:
    """Feature values for each closed candle, updated in O(1); same definitions as `batch_features`."""

    def __init__(self, secondary: bool = False) -> None:
        self.names = feature_names(secondary)
        self._count = 0
        self._lags = {k: Lag(k) for k in RETURN_LAGS}
        self._r2 = {w: WindowSum(w) for w in VOL_WINDOWS}
        self._range = {w: WindowSum(w) for w in RANGE_WINDOWS}
        self._rsi = {n: _Rsi(n) for n in RSI_PERIODS}
        self._ema12, self._ema26, self._signal = Ema(2 / 13), Ema(2 / 27), Ema(2 / 10)
        self._ema60, self._ema240 = Ema(2 / 61), Ema(2 / 241)
        self._volz = {w: _VolZ(w) for w in ZSCORE_WINDOWS}
        self._mean = {w: WindowSum(w) for w in MEAN_WINDOWS}
        self._high, self._low = WindowExtreme(STOCH_WINDOW, True), WindowExtreme(STOCH_WINDOW, False)
        self._secondary = _Secondary() if secondary else None

    def update(self, candle: Candle, other: Candle | None = None) -> list[float] | None:
        """Values for `candle` (just closed) in `names` order, or None during warm-up.

        `other` is the second symbol's candle closing at the same time, when the set uses one."""
        _, t, o, h, lo, c, v = candle
        rets = [math.log(c / lagged) if (lagged := lag.update(c)) is not None else math.nan
                for lag in self._lags.values()]
        r = rets[0]
        rvol = [math.sqrt(s / w) if (s := ws.update(r * r) if r == r else None) is not None else math.nan
                for w, ws in self._r2.items()]
        rng = (h - lo) / c
        ranges = [_nan_if_none(ws.update(rng)) / w for w, ws in self._range.items()]
        rsis = [rsi.update(c) for rsi in self._rsi.values()]
        macd = (self._ema12.update(c) - self._ema26.update(c)) / c
        signal = self._signal.update(macd)
        ema_gap = (self._ema60.update(c) - self._ema240.update(c)) / c
        volz = [z.update(v) for z in self._volz.values()]
        rel = [c / (_nan_if_none(ws.update(c)) / w) - 1.0 for w, ws in self._mean.items()]
        high, low = _nan_if_none(self._high.update(h)), _nan_if_none(self._low.update(lo))
        stoch = (c - low) / (high - low) - 0.5 if high > low else (0.0 if high == low else math.nan)
        spread = h - lo
        values = [*rets, *rvol, _ratio1(rvol[0], rvol[2]) if rvol[2] == rvol[2] else math.nan, rng, *ranges,
                  *rsis, macd, signal, macd - signal, ema_gap, *volz, *rel, stoch,
                  _ratio1(c - o, spread), _ratio1(h - max(o, c), spread), _ratio1(min(o, c) - lo, spread),
                  *_time_features(t)]
        if self._secondary is not None:
            if other is not None:
                self._secondary.update(other)
            fresh = self._secondary.time == t
            values.extend(self._secondary.values if fresh else [math.nan] * len(SECONDARY_NAMES))
        self._count += 1
        return values if self._count > WARMUP else None


def _time_features(close_time: int) -> tuple[float, float, float, float]:
    day = (close_time % DAY_MS) / DAY_MS
    week = ((close_time // DAY_MS + 3) % 7) / 7.0
    return (math.sin(_TAU * day), math.cos(_TAU * day), math.sin(_TAU * week), math.cos(_TAU * week))
