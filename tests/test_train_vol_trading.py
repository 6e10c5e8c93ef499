"""`dopebot train --barrier vol` runs the out-of-sample trading evaluation with fixed exits equal to the
median volatility barrier over the training rows before the out-of-sample period (computed here
independently of dopebot's label code), plus a time exit at the label horizon."""

from __future__ import annotations

import contextlib
import io
import json
import os

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from dopebot.commands.train import TrainOptions, run
from dopebot.commands.train_trading import choose_exits
from dopebot.core.config import load_settings
from dopebot.feeds.synthetic import generate_candles
from dopebot.market.features import batch_features
from dopebot.models.training import TrainOutcome
from tests.workspace import train_workspace

FRAME = generate_candles(6_000, seed=21)
FEE, HORIZON, TP, SL, VOL_WINDOW = 0.0005, 30, 1.0, 0.7, 60  # [train] caps multiples at 1
STRATEGIES = {"lgbm_threshold", "random_entry", "sma_cross", "buy_and_hold"}


def vol_widths(frame: pd.DataFrame, multiple: float) -> np.ndarray:
    """multiple * sqrt(H * mean of squared log returns over the last VOL_WINDOW candles), NaN before."""
    close = frame["close"].to_numpy()
    squared = np.concatenate([[np.nan], np.diff(np.log(close)) ** 2])
    mean = np.full(len(close), np.nan)
    mean[VOL_WINDOW - 1:] = np.lib.stride_tricks.sliding_window_view(squared, VOL_WINDOW).mean(axis=1)
    return multiple * np.sqrt(mean * HORIZON)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[TrainOutcome, dict, str]:
    tmp = tmp_path_factory.mktemp("vol")
    data, config = train_workspace(tmp, FRAME, FEE)
    report_path = tmp / "report.json"
    options = TrainOptions(data=data, folds=3, horizon=HORIZON, take_profit=TP, stop_loss=SL, barrier="vol",
                           json_out=report_path)
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):  # the printed tables, as a user sees them
        outcome = run(load_settings(config), options, now_ms=1_700_000_000_000)
    return outcome, json.loads(report_path.read_text()), buffer.getvalue()


def test_vol_barrier_training_reports_all_four_strategies(trained: tuple[TrainOutcome, dict, str]) -> None:
    outcome, report, _ = trained
    assert report["label"]["barrier"] == "vol"
    assert set(report["trading"]) == STRATEGIES
    first = int(outcome.sample.positions[outcome.result.tested].min())
    oos_candles = len(FRAME) - first
    for row in report["trading"].values():
        assert row["trades"] >= 1 and row["net_per_trade"] < row["gross_per_trade"]  # fees and slippage
    # random entry re-enters whenever flat; only exits (tp, sl, or the time exit at the horizon) end its trades,
    # so it must trade at least once per horizon (+ a candle to fill each side) over the out-of-sample candles
    assert report["trading"]["random_entry"]["trades"] >= oos_candles // (HORIZON + 2)
    assert report["trading"]["random_entry"]["trades"] >= report["trading"]["lgbm_threshold"]["trades"] > 0
    assert report["trading_period"] == {"start": int(FRAME["timestamp"].iloc[first]),
                                        "end": int(FRAME["timestamp"].iloc[-1]) + 60_000, "candles": oos_candles}


def test_exits_are_medians_over_training_rows_before_the_out_of_sample_period(
        trained: tuple[TrainOutcome, dict, str]) -> None:
    outcome, report, printed = trained
    first = int(outcome.sample.positions[outcome.result.tested].min())
    features_known = np.isfinite(batch_features(FRAME, 60_000).to_numpy()).all(axis=1)
    rows = np.flatnonzero(features_known[:first] & np.isfinite(vol_widths(FRAME, 1.0)[:first]))
    np.testing.assert_array_equal(rows, outcome.sample.positions[outcome.sample.positions < first])
    take, stop = float(np.median(vol_widths(FRAME, TP)[rows])), float(np.median(vol_widths(FRAME, SL)[rows]))
    exits = report["trading_exits"]
    assert exits["barrier"] == "vol" and exits["rows"] == len(rows) and exits["max_hold"] == HORIZON
    assert exits["barrier_take_profit"] == pytest.approx(take, rel=1e-9)
    assert exits["barrier_stop_loss"] == pytest.approx(stop, rel=1e-9)
    assert exits["take_profit"] == pytest.approx(take + 2 * FEE, rel=1e-9)
    assert exits["stop_loss"] == pytest.approx(max(stop - 2 * FEE, 1e-4), rel=1e-9)
    assert take / stop == pytest.approx(TP / SL)  # same volatility scale, different multiples
    text = " ".join(printed.split())
    assert "vol barriers approximated by fixed exits" in text
    assert f"tp={take + 2 * FEE:.2%} sl={max(stop - 2 * FEE, 1e-4):.2%}" in text
    assert f"over {len(rows):,} training rows before the out-of-sample period" in text
    assert outcome.card["trading"]["exits"] == exits  # the card carries the same exits


def test_exits_ignore_every_candle_from_the_out_of_sample_period_on(trained: tuple[TrainOutcome, dict, str]) -> None:
    outcome, report, _ = trained
    label = outcome.card["label"]
    positions = outcome.sample.positions
    first = int(positions[outcome.result.tested].min())
    calmer = FRAME.copy()
    factor = np.ones(len(FRAME))
    factor[first:] = np.linspace(1.0, 3.0, len(FRAME) - first)  # a very different future
    for column in ("open", "high", "low", "close"):
        calmer[column] = FRAME[column] * factor
    assert choose_exits(label, calmer, positions, first) == choose_exits(label, FRAME, positions, first)
    assert choose_exits(label, FRAME, positions, first).take_profit == pytest.approx(
        report["trading_exits"]["take_profit"], rel=1e-12)
    earlier = FRAME.copy()
    earlier.loc[first - 500:first - 1, "close"] *= np.linspace(1.0, 1.05, 500)  # the training history moves them
    assert choose_exits(label, earlier, positions, first) != choose_exits(label, FRAME, positions, first)
