"""The feature set: at least 30 features, batch == incremental on real data at every row after warm-up,
warm-up rows invalid (never filled), and no feature changes when later candles are appended."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dopebot.core.timeframes import parse_time
from dopebot.core.types import Candle
from dopebot.feeds.synthetic import generate_candles
from dopebot.market.features import WARMUP, IncrementalFeatures, batch_features, feature_names

DATA = Path(__file__).parents[1].parent / "shared" / "data"
WIDTH = 60_000


def real(symbol: str, start: str, end: str) -> pd.DataFrame:
    path = DATA / f"{symbol.replace('/', '_')}-1m.parquet"
    if not path.exists():
        pytest.skip(f"real data not available at {path}")
    from dopebot.feeds.history import read_candles

    return read_candles(path, symbol, WIDTH, parse_time(start), parse_time(end)).frame


def incremental(frame: pd.DataFrame, other: pd.DataFrame | None = None) -> np.ndarray:
    engine = IncrementalFeatures(secondary=other is not None)
    by_time = {} if other is None else {int(r[0]): r for r in other.itertuples(index=False)}
    rows = []
    for ts, o, h, lo, c, v in frame.itertuples(index=False):
        second = by_time.get(int(ts))
        other_candle = None if second is None else Candle("ETH/USDT", int(ts) + WIDTH, *second[1:])
        values = engine.update(Candle("BTC/USDT", int(ts) + WIDTH, o, h, lo, c, v), other_candle)
        rows.append([np.nan] * len(engine.names) if values is None else values)
    return np.array(rows)


def assert_same(batch: np.ndarray, online: np.ndarray, names: tuple[str, ...]) -> None:
    for column, name in enumerate(names):
        b, i = batch[WARMUP:, column], online[WARMUP:, column]
        assert np.array_equal(np.isnan(b), np.isnan(i)), name
        close = np.isclose(i, b, rtol=1e-9, atol=0.0, equal_nan=True)
        assert close.all(), f"{name}: first mismatch at row {WARMUP + int(np.argmin(close))}"


def test_feature_set_is_large_enough_and_named() -> None:
    assert len(feature_names()) >= 30
    assert len(set(feature_names(True))) == len(feature_names(True)) == len(feature_names()) + 5


def test_batch_equals_incremental_on_real_btc_with_eth() -> None:
    """Three weeks around the 2023-03-24 Binance halt: flat zero-volume candles and an 80-minute gap."""
    btc, eth = real("BTC/USDT", "2023-03-18", "2023-04-02"), real("ETH/USDT", "2023-03-18", "2023-04-02")
    batch = batch_features(btc, WIDTH, eth).to_numpy()
    online = incremental(btc, eth)
    assert batch.shape == online.shape == (len(btc), len(feature_names(True)))
    assert np.isnan(batch[:WARMUP]).all() and np.isnan(online[:WARMUP]).all()
    assert np.isfinite(batch[WARMUP:, : len(feature_names())]).all()
    assert_same(batch, online, feature_names(True))


def test_batch_equals_incremental_on_generated_market() -> None:
    frame = generate_candles(3_000, seed=11)
    assert_same(batch_features(frame, WIDTH).to_numpy(), incremental(frame), feature_names())


def test_appending_candles_never_changes_earlier_features() -> None:
    frame = generate_candles(2_500, seed=3)
    full = batch_features(frame, WIDTH).to_numpy()
    for cut in (WARMUP + 1, 1_234, 2_000):
        prefix = batch_features(frame.iloc[:cut], WIDTH).to_numpy()
        np.testing.assert_array_equal(prefix, full[:cut])


def test_known_values() -> None:
    frame = generate_candles(1_000, seed=5)
    features = batch_features(frame, WIDTH)
    c = frame["close"].to_numpy()
    row = 900
    assert features["ret_15"].iloc[row] == pytest.approx(np.log(c[row] / c[row - 15]), rel=1e-12)
    assert features["close_rel_60"].iloc[row] == pytest.approx(c[row] / c[row - 59:row + 1].mean() - 1, rel=1e-9)
    r = np.diff(np.log(c))
    assert features["rvol_60"].iloc[row] == pytest.approx(np.sqrt(np.mean(r[row - 60:row] ** 2)), rel=1e-9)
    tod = ((frame["timestamp"].iloc[row] + WIDTH) % 86_400_000) / 86_400_000
    assert features["tod_sin"].iloc[row] == pytest.approx(np.sin(2 * np.pi * tod))
    assert features["rsi_14"].iloc[WARMUP:].min() >= -0.5 and features["rsi_14"].iloc[WARMUP:].max() <= 0.5
