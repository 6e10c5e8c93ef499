"""check-lookahead: the shipped feature set passes; a feature peeking one candle ahead is caught."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dopebot.feeds.synthetic import generate_candles
from dopebot.market.features import WARMUP, batch_features
from dopebot.models.lookahead import check_lookahead, cut_points

FRAME = generate_candles(2_000, seed=8)
CUTS = cut_points(len(FRAME), 6, seed=1, minimum=WARMUP + 1)


def features(frame: pd.DataFrame) -> pd.DataFrame:
    return batch_features(frame, 60_000)


def leaky_features(frame: pd.DataFrame) -> pd.DataFrame:
    result = features(frame).copy()
    close = frame["close"]
    result["leaky_next_return"] = np.log(close.shift(-1) / close).to_numpy()  # peeks at t + 1
    return result


def test_cut_points_are_seeded_and_in_range() -> None:
    assert len(CUTS) == 6 and CUTS[-1] == len(FRAME) - 1 and CUTS[0] >= WARMUP + 1
    assert cut_points(len(FRAME), 6, seed=1, minimum=WARMUP + 1) == CUTS


def test_shipped_features_and_decisions_have_no_lookahead() -> None:
    def decide(frame: pd.DataFrame) -> np.ndarray:
        return (features(frame)["rsi_14"].to_numpy() > 0.1).astype(int)

    report = check_lookahead(FRAME, features, CUTS, decide)
    assert report.clean and report.decision_mismatches == 0


def test_a_feature_that_peeks_one_candle_ahead_is_caught() -> None:
    report = check_lookahead(FRAME, leaky_features, CUTS)
    assert not report.clean
    assert list(report.feature_mismatches) == ["leaky_next_return"]
    assert report.feature_mismatches["leaky_next_return"] == len(CUTS)  # the last row of every prefix
    assert report.first_mismatch["leaky_next_return"] == CUTS[0] - 1


def test_leaky_decisions_are_caught() -> None:
    def decide(frame: pd.DataFrame) -> np.ndarray:
        return (leaky_features(frame)["leaky_next_return"].to_numpy() > 0).astype(int)

    assert check_lookahead(FRAME, features, CUTS, decide).decision_mismatches >= 1
