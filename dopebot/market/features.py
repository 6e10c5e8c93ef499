"""The model feature set, version `FEATURE_SET_VERSION`, computed two ways from one set of definitions:
`feature_matrix` (vectorised, numpy only, for train and backtest; `batch_features` is its DataFrame form) and
`IncrementalFeatures` (one closed candle at a time, O(1) per feature, for paper/live). Both do the same
arithmetic (dopebot/market/rolling.py says how); tests/test_features.py proves they agree.

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
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from dopebot.core.types import Candle
from dopebot.market.rolling import (
    Blocks,
    Ema,
    Lag,
    WindowExtreme,
    WindowSum,
    constant_runs,
    emas,
    window_extremes,
    window_sum,
)

if TYPE_CHECKING:
    import pandas as pd

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

Columns = Mapping[str, np.ndarray]
_CANDLE = ("open", "high", "low", "close", "volume")
_RSI_ALPHAS = tuple(1.0 / n for n in RSI_PERIODS)
_PRICE_EMAS = (2 / 13, 2 / 27, 2 / 61, 2 / 241)  # MACD fast and slow, ema_gap fast and slow
_SIGNAL = 2 / 10


def feature_matrix(columns: Columns, width_ms: int, other_columns: Columns | None = None) -> np.ndarray:
    """Features for every candle as a float64 (rows, features) matrix in `feature_names` order, numpy only.

    `columns` holds timestamp (open time, ms), open, high, low, close, volume. Column-major (each feature's
    column contiguous): it is filled column by column and LightGBM reads that layout without a copy. Rows
    before WARMUP are NaN. With `other_columns` (a second symbol's candles) the x_* columns are added.
    The arithmetic is IncrementalFeatures', operation for operation (only numpy's log/sin may round the last
    bit differently from math's), so the two agree to rounding even where features subtract near-equal
    numbers."""
    names = feature_names(other_columns is not None)
    rows = len(columns["timestamp"])
    matrix = np.empty((len(names), rows)).T  # Fortran order
    if rows:
        out = {name: matrix[:, index] for index, name in enumerate(names)}
        o, h, lo, c, v = (np.asarray(columns[name], dtype=np.float64) for name in _CANDLE)
        timestamps = np.asarray(columns["timestamp"], dtype=np.int64)
        with np.errstate(divide="ignore", invalid="ignore"):
            _primary_batch(o, h, lo, c, v, timestamps + width_ms, width_ms, out)
            if other_columns is not None:
                _secondary_batch(other_columns, timestamps, out)
    matrix[:WARMUP] = np.nan
    return matrix


def batch_features(frame: pd.DataFrame, width_ms: int, other: pd.DataFrame | None = None) -> pd.DataFrame:
    """`feature_matrix` of a candle frame as a DataFrame (train and check-lookahead work with frames).

    Rows before WARMUP are NaN. With `other` (a second symbol's candles), x_* columns are added."""
    import pandas as pd

    columns = {name: frame[name].to_numpy() for name in ("timestamp", *_CANDLE)}
    other_columns = None if other is None else {name: other[name].to_numpy() for name in ("timestamp", "close")}
    matrix = feature_matrix(columns, width_ms, other_columns)
    return pd.DataFrame(matrix, index=frame.index, columns=list(feature_names(other is not None)), copy=False)


def _ratio(numerator: np.ndarray, denominator: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """numerator / denominator where denominator > 0, else 0 (same rule as the incremental path)."""
    result = np.divide(numerator, denominator, out=out)
    result[~(denominator > 0)] = 0.0
    return result


def _returns(c: np.ndarray, lag: int, out: np.ndarray) -> np.ndarray:
    """log(c_t / c_{t-lag}), NaN for the first `lag` rows (math.log(c / lagged) incrementally)."""
    out[:lag] = np.nan
    if len(c) > lag:
        np.log(np.divide(c[lag:], c[:-lag], out=out[lag:]), out=out[lag:])
    return out


def _window_means(values: np.ndarray, windows: tuple[int, ...], outs: list[np.ndarray], offset: int = 0) -> None:
    """WindowSum / window of values[offset:] (the incremental sums start there), into `outs` aligned to values."""
    source = values[offset:]
    runs = constant_runs(source)
    for window, out in zip(windows, outs, strict=True):
        out[:offset] = np.nan
        window_sum(source, window, out=out[offset:], runs=runs)
        out[offset:] /= window


def _primary_batch(o: np.ndarray, h: np.ndarray, lo: np.ndarray, c: np.ndarray, v: np.ndarray,
                   close_time: np.ndarray, width_ms: int, out: dict[str, np.ndarray]) -> None:
    for k in RETURN_LAGS:
        _returns(c, k, out[f"ret_{k}"])
    r = out["ret_1"]
    rvols = [out[f"rvol_{w}"] for w in VOL_WINDOWS]
    _window_means(r * r, VOL_WINDOWS, rvols, offset=1)
    for rvol in rvols:
        np.sqrt(rvol, out=rvol)
    _ratio(out["rvol_15"], out["rvol_240"], out=out["rvol_ratio"])
    spread = h - lo
    candle_range = np.divide(spread, c, out=out["range"])
    _window_means(candle_range, RANGE_WINDOWS, [out[f"range_mean_{w}"] for w in RANGE_WINDOWS])
    _ema_features(c, out)
    _volume_z(v, out)
    _window_means(c, MEAN_WINDOWS, [out[f"close_rel_{w}"] for w in MEAN_WINDOWS])
    for w in MEAN_WINDOWS:
        rel = np.divide(c, out[f"close_rel_{w}"], out=out[f"close_rel_{w}"])
        rel -= 1.0
    high = window_extremes(h, STOCH_WINDOW, True)
    low = window_extremes(lo, STOCH_WINDOW, False)
    stoch = _ratio(c - low, high - low, out=out["stoch_60"])
    stoch[high > low] -= 0.5
    _ratio(c - o, spread, out=out["body"])
    _ratio(h - np.maximum(o, c), spread, out=out["upper_wick"])
    _ratio(np.minimum(o, c) - lo, spread, out=out["lower_wick"])
    _time_features_batch(close_time, width_ms, out)


def _volume_z(v: np.ndarray, out: dict[str, np.ndarray]) -> None:
    """z-score of log1p(volume) in each window; mean and variance as _VolZ forms them."""
    x = np.log1p(v)
    squares = x * x
    runs, square_runs = constant_runs(x), constant_runs(squares)
    mean, variance = np.empty(len(x)), np.empty(len(x))
    for w in ZSCORE_WINDOWS:
        window_sum(x, w, out=mean, runs=runs)
        mean /= w
        window_sum(squares, w, out=variance, runs=square_runs)
        variance /= w
        variance -= mean * mean
        z = np.subtract(x, mean, out=out[f"vol_z_{w}"])
        z /= np.sqrt(variance)
        z[variance <= _MIN_VARIANCE] = 0.0  # NaN (window not full) stays NaN


def _time_features_batch(close_time: np.ndarray, width_ms: int, out: dict[str, np.ndarray]) -> None:
    """Time of day and day of week of each close. Candles sit on a grid, so the sines and cosines are looked
    up in a table of the day's slots (or the week's days) instead of computed per row: same values, ~5x faster."""
    days = close_time // DAY_MS
    week_table = ((np.arange(7) + 3) % 7) / 7.0
    weekday = days % 7  # (days + 3) % 7 is week_table's index shift
    np.take(np.sin(_TAU * week_table), weekday, out=out["dow_sin"])
    np.take(np.cos(_TAU * week_table), weekday, out=out["dow_cos"])
    slots = DAY_MS // width_ms if width_ms > 0 and DAY_MS % width_ms == 0 else 0
    since_midnight = close_time - days * DAY_MS
    if slots and len(close_time) > slots and not (since_midnight % width_ms).any():
        day_table = (np.arange(slots, dtype=np.int64) * width_ms) / DAY_MS
        slot = since_midnight // width_ms
        np.take(np.sin(_TAU * day_table), slot, out=out["tod_sin"])
        np.take(np.cos(_TAU * day_table), slot, out=out["tod_cos"])
    else:
        day = since_midnight / DAY_MS
        np.sin(_TAU * day, out=out["tod_sin"])
        np.cos(_TAU * day, out=out["tod_cos"])


def _ema_features(c: np.ndarray, out: dict[str, np.ndarray]) -> None:
    """MACD, ema_gap and RSI: the EMAs run block-parallel in step-major layout (see rolling.emas) and the
    features are formed there, so only the finished features are laid out back."""
    blocks = Blocks(len(c))
    close = blocks.split(c)
    prices = emas(close[:, None, :], _PRICE_EMAS)[:, :, 0, :]
    gap = np.subtract(prices[:, 2], prices[:, 3])
    gap /= close
    blocks.join(gap, out["ema_gap"])
    macd = np.subtract(prices[:, 0], prices[:, 1], out=gap)
    macd /= close
    del prices, close
    signal = emas(macd[:, None, :], (_SIGNAL,))[:, 0, 0, :]
    blocks.join(macd, out["macd"])
    blocks.join(signal, out["macd_signal"])
    blocks.join(np.subtract(macd, signal, out=macd), out["macd_hist"])
    del signal, macd
    for n, rsi in zip(RSI_PERIODS, _rsi_steps(c, blocks, _RSI_ALPHAS), strict=True):
        blocks.join(rsi, out[f"rsi_{n}"])
        out[f"rsi_{n}"][:1] = np.nan


def _rsi_steps(c: np.ndarray, blocks: Blocks, alphas: tuple[float, ...]) -> list[np.ndarray]:
    """Wilder's RSI for each alpha, step-major: gain / (gain + loss) - 0.5 of the EMAs of up and down moves,
    0 when nothing moved. Row 0 (no move yet) is meaningless; callers blank it."""
    change = np.diff(c)
    moves = np.empty((blocks.length, 2, blocks.count))
    for side, values in enumerate((np.where(change > 0, change, 0.0), np.where(change < 0, -change, 0.0))):
        # row 0 repeats row 1, so each EMA starts at the first move exactly as _Rsi's does
        moves[:, side] = blocks.split(np.concatenate((values[:1], values)) if len(values) else np.full(1, np.nan))
    del change
    smoothed = emas(moves, alphas)
    result = []
    for index in range(len(alphas)):
        gain, loss = smoothed[:, index, 0], smoothed[:, index, 1]
        total = gain + loss
        moved = total > 0
        rsi = np.divide(gain, total, out=total)
        rsi -= 0.5
        rsi[~moved] = 0.0
        result.append(rsi)
    return result


def _secondary_batch(other: Columns, timestamps: np.ndarray, out: dict[str, np.ndarray]) -> None:
    """The second symbol's features on its own rows, then aligned to the primary's timestamps (NaN if absent)."""
    c = np.asarray(other["close"], dtype=np.float64)
    own_times = np.asarray(other["timestamp"], dtype=np.int64)
    rows = len(c)
    own = {name: np.empty(rows) for name in ("ret_1", "ret_15", "ret_60", "rvol_60", "rsi_14")}
    if rows:
        for k in (1, 15, 60):
            _returns(c, k, own[f"ret_{k}"])
        r = own["ret_1"]
        _window_means(r * r, (60,), [own["rvol_60"]], offset=1)
        np.sqrt(own["rvol_60"], out=own["rvol_60"])
        blocks = Blocks(rows)
        blocks.join(_rsi_steps(c, blocks, (1.0 / 14,))[0], own["rsi_14"])
        own["rsi_14"][:1] = np.nan
    position, found = _positions(own_times, timestamps)
    for name, values in own.items():
        aligned = out[SECONDARY_PREFIX + name]
        aligned[:] = np.nan
        aligned[found] = values[position[found]]


def _positions(own_times: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row of each wanted timestamp in `own_times` and whether it is there."""
    if len(own_times) == 0:
        return np.zeros(len(wanted), dtype=np.int64), np.zeros(len(wanted), dtype=bool)
    order = None if bool((np.diff(own_times) > 0).all()) else np.argsort(own_times, kind="stable")
    ordered = own_times if order is None else own_times[order]
    position = np.minimum(np.searchsorted(ordered, wanted), len(ordered) - 1)
    found = ordered[position] == wanted
    return (position if order is None else order[position]), found


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
