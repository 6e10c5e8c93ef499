"""Triple-barrier and regression labels on hand-made paths: entry at the next open, fees inside the
barriers, ties resolved as a loss, windows past the data end dropped, and no dependence on the past."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dopebot.core.errors import UsageError
from dopebot.feeds.synthetic import generate_candles
from dopebot.market.labels import LabelSpec, forward_return, make_labels, triple_barrier


def candles(rows: list[tuple[float, float, float, float]]) -> pd.DataFrame:
    o, h, lo, c = (np.array(x, dtype=float) for x in zip(*rows, strict=True))
    return pd.DataFrame({"timestamp": np.arange(len(rows), dtype=np.int64) * 60_000, "open": o, "high": h,
                         "low": lo, "close": c, "volume": np.ones(len(rows))})


FLAT = (100.0, 100.0, 100.0, 100.0)
SPEC = LabelSpec(horizon=3, take_profit=0.01, stop_loss=0.01, fee=0.001)  # barriers at 101.2 and 99.2


def test_take_profit_first_is_one_and_fees_move_the_barrier() -> None:
    hit = candles([FLAT, FLAT, (100, 101.0, 99.9, 100.5), (100.5, 101.2, 100, 101), FLAT, FLAT])
    labels = triple_barrier(hit, SPEC)
    assert labels.label[0] == 1.0  # entry at open[1] = 100; 101.2 touched in the 3rd candle of the trade
    assert labels.label[1] == 1.0
    assert labels.trade_return[0] == pytest.approx(np.log(1.012) + 2 * np.log(0.999))
    short = candles([FLAT, FLAT, (100, 101.1, 99.9, 100.5), FLAT, FLAT])  # +1.1 % < tp + fees
    assert triple_barrier(short, SPEC).label[0] == 0.0


def test_stop_first_tie_and_timeout_are_zero() -> None:
    stop = candles([FLAT, (100, 100.5, 99.1, 99.5), (99.5, 102, 99.5, 101.5), FLAT, FLAT])
    tie = candles([FLAT, (100, 101.5, 99.0, 100), FLAT, FLAT, FLAT])
    timeout = candles([FLAT, FLAT, (100, 100.9, 99.5, 100.8), FLAT, FLAT])
    for frame, hit in ((stop, 1.0), (tie, 1.0), (timeout, 0.0)):
        labels = triple_barrier(frame, SPEC)
        assert labels.label[0] == 0.0
        assert labels.hit[0] == hit
    assert triple_barrier(timeout, SPEC).trade_return[0] == pytest.approx(2 * np.log(0.999))  # exit at close 100


def test_rows_whose_window_passes_the_end_are_nan() -> None:
    frame = candles([FLAT] * 10)
    labels = triple_barrier(frame, SPEC)
    assert np.isfinite(labels.label[:7]).all() and np.isnan(labels.label[7:]).all()
    assert np.isnan(forward_return(frame, 3)[7:]).all()


def test_label_at_t_ignores_candles_up_to_t() -> None:
    frame = generate_candles(400, seed=2)
    spec = LabelSpec(horizon=20, take_profit=0.002, stop_loss=0.002, barrier="pct", fee=0.0002)
    before = triple_barrier(frame, spec).label
    changed = frame.copy()
    changed.loc[:100, ["high", "close"]] *= 1.05  # the past of row 100, including row 100 itself
    changed.loc[:100, "low"] *= 0.95
    after = triple_barrier(changed, spec).label
    np.testing.assert_array_equal(before[100:], after[100:])
    assert 0.05 < np.nanmean(before) < 0.95


def test_volatility_barriers_and_regression() -> None:
    frame = generate_candles(2_000, seed=4)
    spec = LabelSpec(horizon=30, take_profit=1.0, stop_loss=1.0, barrier="vol", fee=0.0)
    labels = make_labels(frame, spec)
    assert np.isnan(labels.label[:60]).all() and np.isfinite(labels.label[60:-30]).all()
    assert 0.2 < np.nanmean(labels.hit) < 1.0
    regression = make_labels(frame, LabelSpec(kind="regression", horizon=30, fee=0.0))
    o, c = frame["open"].to_numpy(), frame["close"].to_numpy()
    assert regression.label[5] == pytest.approx(np.log(c[35] / o[6]))


def test_spec_rejects_a_stop_inside_the_fees() -> None:
    with pytest.raises(UsageError):
        LabelSpec(stop_loss=0.001, fee=0.001)
