"""The numpy feature matrix: its building blocks give what their O(1) incremental twins give, bit for bit (the
block-parallel EMA however its passes go, window sums and extremes for any length and window), and on real
data it matches the previous pandas implementation, kept here as the reference: identical wherever the
definition did not change, and at least as accurate (against exact sums) where window sums changed from a
running compensated sum to block prefix + suffix sums."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dopebot.core.timeframes import parse_time
from dopebot.feeds.synthetic import generate_candles
from dopebot.market.features import (
    _MIN_VARIANCE,
    DAY_MS,
    MEAN_WINDOWS,
    RANGE_WINDOWS,
    RETURN_LAGS,
    RSI_PERIODS,
    SECONDARY_PREFIX,
    STOCH_WINDOW,
    VOL_WINDOWS,
    WARMUP,
    ZSCORE_WINDOWS,
    batch_features,
    feature_matrix,
    feature_names,
)
from dopebot.market.rolling import Blocks, Ema, WindowExtreme, WindowSum, emas, window_extremes, window_sum

DATA = Path(__file__).parents[1].parent / "shared" / "data"
WIDTH = 60_000
TAU = 2.0 * math.pi


def real(symbol: str, start: str, end: str) -> pd.DataFrame:
    path = DATA / f"{symbol.replace('/', '_')}-1m.parquet"
    if not path.exists():
        pytest.skip(f"real data not available at {path}")
    from dopebot.feeds.history import read_candles

    return read_candles(path, symbol, WIDTH, parse_time(start), parse_time(end)).frame


# ---------------------------------------------------------------- the previous pandas implementation ----


def _rolling_sum(values: np.ndarray, window: int) -> np.ndarray:
    return pd.Series(values).rolling(window, min_periods=window).sum().to_numpy()


def _ema(values: np.ndarray, alpha: float) -> np.ndarray:
    return pd.Series(values).ewm(alpha=alpha, adjust=False).mean().to_numpy()


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
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


def pandas_features(frame: pd.DataFrame, width_ms: int, other: pd.DataFrame | None = None) -> np.ndarray:
    """batch_features as it was before the numpy rewrite (pandas rolling sums and ewm)."""
    o, h, lo, c, v = (frame[n].to_numpy(dtype=float) for n in ("open", "high", "low", "close", "volume"))
    close_time = frame["timestamp"].to_numpy() + width_ms
    with np.errstate(divide="ignore", invalid="ignore"):
        out = {f"ret_{k}": np.log(c / _lagged(c, k)) for k in RETURN_LAGS}
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
        out["tod_sin"], out["tod_cos"] = np.sin(TAU * day), np.cos(TAU * day)
        out["dow_sin"], out["dow_cos"] = np.sin(TAU * week), np.cos(TAU * week)
        if other is not None:
            oc = other["close"].to_numpy(dtype=float)
            r2 = np.log(oc / _lagged(oc, 1))
            own = {"ret_1": r2, "ret_15": np.log(oc / _lagged(oc, 15)), "ret_60": np.log(oc / _lagged(oc, 60)),
                   "rvol_60": np.sqrt(_rolling_sum(r2 * r2, 60) / 60), "rsi_14": _rsi(oc, 14)}
            position = pd.Index(other["timestamp"].to_numpy()).get_indexer(frame["timestamp"].to_numpy())
            found = position >= 0
            for name, values in own.items():
                aligned = np.full(len(frame), np.nan)
                aligned[found] = values[position[found]]
                out[SECONDARY_PREFIX + name] = aligned
    matrix = np.column_stack([out[name] for name in feature_names(other is not None)])
    matrix[:WARMUP] = np.nan
    return matrix


# ---------------------------------------------------------------- numpy vs pandas on real data ----------

WINDOW_SUM_FEATURES = {
    **{f"rvol_{w}": w for w in VOL_WINDOWS}, "rvol_ratio": 240, **{f"range_mean_{w}": w for w in RANGE_WINDOWS},
    **{f"vol_z_{w}": w for w in ZSCORE_WINDOWS}, **{f"close_rel_{w}": w for w in MEAN_WINDOWS},
    SECONDARY_PREFIX + "rvol_60": 60,
}


def test_numpy_matrix_matches_the_pandas_implementation_on_real_data() -> None:
    """Two months of 2024 BTC with ETH: EMA features (RSI, MACD, ema_gap), returns, shapes, stochastic and time
    features are bit-identical; window-sum features agree to rounding of the pandas running sum."""
    btc, eth = real("BTC/USDT", "2024-01-01", "2024-03-01"), real("ETH/USDT", "2024-01-01", "2024-03-01")
    eth = eth.iloc[5:].drop(index=eth.index[100:130])  # ETH starting later and with a hole: alignment
    names = feature_names(True)
    new = feature_matrix({n: btc[n].to_numpy() for n in btc.columns}, WIDTH,
                         {n: eth[n].to_numpy() for n in eth.columns})
    old = pandas_features(btc, WIDTH, eth)
    assert new.shape == old.shape == (len(btc), len(names)) and new.flags.f_contiguous and new.dtype == np.float64
    for column, name in enumerate(names):
        n, o = new[WARMUP:, column], old[WARMUP:, column]
        assert np.array_equal(np.isnan(n), np.isnan(o)), name
        if name not in WINDOW_SUM_FEATURES:
            assert np.array_equal(n, o, equal_nan=True), f"{name} differs from pandas"
        else:
            # ~1e-15 relative typically; pandas' running sum drifts further after big moves (up to 6e-6 relative
            # on rvol_15 in 2024, see the accuracy test below), and near-zero values are compared absolutely
            scale = np.nanmax(np.abs(o))
            assert np.allclose(n, o, rtol=1e-8, atol=1e-11 * scale, equal_nan=True), name


@pytest.mark.parametrize("window", [15, 60, 240])
def test_window_sums_are_at_least_as_accurate_as_pandas_running_sums(window: int) -> None:
    """Against exact (math.fsum) sums of squared returns after the quietest and busiest stretches of 2024."""
    c = real("BTC/USDT", "2024-01-01", "2024-07-01")["close"].to_numpy()
    squares = np.log(c[1:] / c[:-1]) ** 2
    ours = window_sum(squares, window)
    theirs = _rolling_sum(squares, window)
    rows = np.random.default_rng(7).choice(np.arange(window, len(squares)), 3_000, replace=False)
    exact = np.array([math.fsum(squares[t - window + 1 : t + 1].tolist()) for t in rows])
    ours_error = np.abs(ours[rows] - exact) / exact
    theirs_error = np.abs(theirs[rows] - exact) / exact
    assert ours_error.max() <= 1e-13 * window
    assert ours_error.max() <= max(theirs_error.max(), 1e-13 * window)


def test_batch_features_is_the_matrix_as_a_frame() -> None:
    frame = generate_candles(2_000, seed=4)
    frame.index = frame.index + 1_000  # a caller's index survives
    features = batch_features(frame, WIDTH)
    assert list(features.columns) == list(feature_names()) and (features.index == frame.index).all()
    matrix = feature_matrix({n: frame[n].to_numpy() for n in frame.columns}, WIDTH)
    assert np.array_equal(features.to_numpy(), matrix, equal_nan=True)
    assert np.isnan(matrix[:WARMUP]).all() and np.isfinite(matrix[WARMUP:]).all()


def test_tiny_and_empty_inputs() -> None:
    for rows in (0, 1, 2, 61, WARMUP + 1):
        frame = generate_candles(max(rows, 1), seed=1).iloc[:rows]
        matrix = feature_matrix({n: frame[n].to_numpy() for n in frame.columns}, WIDTH)
        assert matrix.shape == (rows, len(feature_names()))
        assert np.isnan(matrix[:WARMUP]).all()


def test_time_features_off_the_grid_are_computed_directly() -> None:
    frame = generate_candles(1_500, seed=2)
    columns = {n: frame[n].to_numpy() for n in frame.columns}
    shifted = {**columns, "timestamp": columns["timestamp"] + 7}  # not on the minute grid: no table lookup
    names = feature_names()
    close_time = shifted["timestamp"] + WIDTH
    matrix = feature_matrix(shifted, WIDTH)
    day = (close_time % DAY_MS) / DAY_MS
    assert np.array_equal(matrix[WARMUP:, names.index("tod_sin")], np.sin(TAU * day)[WARMUP:])
    on_grid = feature_matrix(columns, WIDTH)
    day = ((columns["timestamp"] + WIDTH) % DAY_MS) / DAY_MS
    assert np.array_equal(on_grid[WARMUP:, names.index("tod_cos")], np.cos(TAU * day)[WARMUP:])


# ---------------------------------------------------------------- building blocks -------------------------


def sequential_ema(values: np.ndarray, alpha: float) -> np.ndarray:
    ema = Ema(alpha)
    return np.array([ema.update(v) for v in values.tolist()])


@pytest.mark.parametrize(("length", "passes"), [(1024, 32), (97, 32), (40, 1), (300, 0)])
def test_block_parallel_ema_is_the_sequential_ema_bit_for_bit(length: int, passes: int) -> None:
    """Real prices (including the flat 2023-03-24 halt, where the EMA sticks to the price), with blocks so
    short that several passes are needed, and with the sequential finish forced (passes=0 or 1)."""
    c = real("BTC/USDT", "2023-03-10", "2023-04-10")["close"].to_numpy()
    alphas = (2 / 13, 2 / 241, 1 / 60)
    blocks = Blocks(len(c), length)
    steps = emas(blocks.split(c)[:, None, :], alphas, max_passes=passes)
    for index, alpha in enumerate(alphas):
        assert np.array_equal(blocks.join(steps[:, index, 0]), sequential_ema(c, alpha)), alpha


def test_blocks_split_and_join_round_trip() -> None:
    values = np.arange(10_007, dtype=float)
    for length in (1, 7, 1024, 20_000):
        blocks = Blocks(len(values), length)
        steps = blocks.split(values)
        assert steps.shape == (blocks.length, blocks.count) and (blocks.count - 1) * blocks.length < len(values)
        assert np.array_equal(blocks.join(steps), values)


def random_with_runs(rows: int, seed: int) -> np.ndarray:
    """Mixed magnitudes with runs of repeated values (flat candles, zero moves) of every length."""
    rng = np.random.default_rng(seed)
    values = rng.lognormal(0.0, 3.0, rows) * rng.choice([1.0, -1.0, 1e-9], rows)
    if rows == 0:
        return values
    for start in rng.choice(rows, 30):
        values[start : start + rng.integers(1, 300)] = values[start]
    values[rng.choice(rows, 50)] = 0.0
    return values


@pytest.mark.parametrize("rows", [0, 1, 14, 15, 16, 240, 1_000, 5_003])
def test_window_sums_and_extremes_equal_the_incremental_classes(rows: int) -> None:
    values = random_with_runs(rows, seed=rows)
    for window in (1, 2, 15, 60, 240):
        running_sum, high, low = WindowSum(window), WindowExtreme(window, True), WindowExtreme(window, False)
        expected = np.array([[np.nan if (s := running_sum.update(v)) is None else s,
                              np.nan if (m := high.update(v)) is None else m,
                              np.nan if (n := low.update(v)) is None else n] for v in values.tolist()])
        expected = expected.reshape(rows, 3)
        assert np.array_equal(window_sum(values, window), expected[:, 0], equal_nan=True), window
        assert np.array_equal(window_extremes(values, window, True), expected[:, 1], equal_nan=True), window
        assert np.array_equal(window_extremes(values, window, False), expected[:, 2], equal_nan=True), window


def test_a_window_of_one_repeated_value_sums_exactly() -> None:
    values = np.array([0.1] * 500 + [0.3] * 30 + [0.1] * 100)
    sums = window_sum(values, 60)
    assert (sums[59:500] == 0.1 * 60).all() and (sums[589:] == 0.1 * 60).all()  # not 5.999999999999999
    assert np.isclose(sums[520], 0.1 * 39 + 0.3 * 21)
