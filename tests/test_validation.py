"""Purged walk-forward splits, metric arithmetic, and the null check: shuffled labels give AUC ~0.5."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from dopebot.core.errors import UsageError
from dopebot.feeds.synthetic import generate_candles
from dopebot.market.labels import LabelSpec
from dopebot.models import evaluation
from dopebot.models.dataset import build_sample
from dopebot.models.pipeline import WalkForwardConfig, walk_forward_oof
from dopebot.models.validation import walk_forward


@pytest.mark.parametrize("mode", ["expanding", "rolling"])
def test_training_rows_never_see_the_test_block(mode: str) -> None:
    positions = np.concatenate([np.arange(0, 5_000), np.arange(5_300, 12_000)])  # a gap in the candles
    folds = walk_forward(positions, folds=4, horizon=60, embargo=10, mode=mode)
    assert len(folds) == 4
    previous_end = -1
    for fold in folds:
        test_start = positions[fold.test[0]]
        assert positions[fold.train].max() + 60 < test_start - 60 + 1  # purge + embargo raised to H
        assert positions[fold.valid].max() + 60 < test_start
        assert positions[fold.train].max() + 60 < positions[fold.valid[0]]
        assert fold.test[0] > previous_end
        previous_end = fold.test[-1]
    if mode == "rolling":
        assert folds[-1].train[0] > 0
    else:
        assert all(fold.train[0] == 0 for fold in folds)
    assert previous_end == len(positions) - 1


def test_embargo_larger_than_horizon_is_kept() -> None:
    positions = np.arange(10_000)
    fold = walk_forward(positions, folds=2, horizon=10, embargo=500)[1]
    assert positions[fold.valid].max() < positions[fold.test[0]] - 500


def test_too_little_data_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        walk_forward(np.arange(300), folds=5, horizon=60)


def test_metrics_on_known_numbers() -> None:
    truth = np.array([0, 0, 1, 1, 0, 1], dtype=float)
    score = np.array([0.1, 0.4, 0.35, 0.8, 0.4, 0.4])
    assert evaluation.auc(truth, score) == pytest.approx((1 + 3 + 2) / 9)  # pairs won, ties count half
    assert evaluation.brier(truth, score) == pytest.approx(np.mean((score - truth) ** 2))
    assert evaluation.threshold_at_recall(truth, score, 1 / 3) == 0.8
    precision, recall, selected = evaluation.precision_recall(truth, score, 0.4)
    assert (precision, recall, selected) == (0.5, 2 / 3, 4)
    regression = evaluation.regression_metrics(np.array([1.0, -1.0, 2.0]), np.array([0.5, 1.0, 2.0]))
    assert regression["mae"] == pytest.approx(2.5 / 3)
    assert regression["directional_accuracy"] == pytest.approx(2 / 3)


def test_shuffled_labels_give_auc_near_one_half() -> None:
    frame = generate_candles(30_000, seed=9)
    spec = LabelSpec(horizon=30, take_profit=0.003, stop_loss=0.003, fee=0.0005)
    sample = build_sample(frame, 60_000, spec)
    rng = np.random.default_rng(0)
    shuffled = type(sample)(**{**sample.__dict__, "label": rng.permutation(sample.label)})
    result = walk_forward_oof(shuffled, spec, WalkForwardConfig(folds=3, threads=1, seed=1))
    assert abs(result.overall["auc"] - 0.5) < 0.02
    assert result.overall["rows"] == len(result.tested)


def test_deflated_sharpe_penalises_many_lucky_trials() -> None:
    from dopebot.models.tuning import deflated_sharpe

    returns = np.random.default_rng(1).normal(0.001, 0.01, 400)
    best = float(returns.mean() / returns.std(ddof=1))
    few = deflated_sharpe(best, [best, best - 0.01], returns)
    many = deflated_sharpe(best, list(np.linspace(-0.2, best, 200)), returns)
    assert 0.0 <= many < few <= 1.0
    assert many < 0.5  # a Sharpe of ~0.1 per trade is what 200 tries of nothing would give


def test_tuning_is_seeded_and_counts_its_trials() -> None:
    from dopebot.models.tuning import tune

    frame = generate_candles(12_000, seed=5)
    spec = LabelSpec(horizon=30, take_profit=0.003, stop_loss=0.003, fee=0.0005)
    sample = build_sample(frame, 60_000, spec)
    config = WalkForwardConfig(folds=2, threads=1, seed=3)
    seen: list[int] = []
    first = tune(sample, spec, config, 3, "sharpe", lambda done, total, best: seen.append(done))
    again = tune(sample, spec, config, 3, "sharpe")
    assert seen == [1, 2, 3] and first.summary["trials"] == 3 and len(first.summary["trial_sharpes"]) == 3
    assert first.summary["best_params"] == again.summary["best_params"] and first.threshold == again.threshold
    assert 0.0 <= first.summary["deflated_sharpe"] <= 1.0 or np.isnan(first.summary["deflated_sharpe"])
    assert first.config.params == first.summary["best_params"]
