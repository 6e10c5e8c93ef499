"""Walk-forward training: fit one model per purged fold, collect out-of-fold predictions, measure them,
pick the decision threshold on them, then fit the final model on everything for the chosen rounds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np

from dopebot.market.labels import LabelSpec
from dopebot.models import evaluation
from dopebot.models.dataset import Sample
from dopebot.models.lgbm import FoldData, fit_final, fit_fold, lgbm_params, predict_rows
from dopebot.models.validation import Fold, walk_forward

FoldCallback = Callable[[int, int], None]  # (folds done, folds total)


@dataclass(frozen=True)
class WalkForwardConfig:
    folds: int = 5
    embargo: int = 0  # raised to the label horizon
    mode: str = "expanding"
    seed: int = 42
    threads: int = 2
    target_recall: float = 0.25
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class WalkForwardResult:
    """Out-of-fold predictions (NaN on rows never tested), per-fold metrics and the overall verdict."""

    oof: np.ndarray
    tested: np.ndarray  # row numbers of the sample that were in some test block
    fold_metrics: list[dict[str, float]]
    overall: dict[str, float]
    best_iterations: list[int]
    params: dict[str, Any]
    threshold: float
    fold_rows: list[np.ndarray] = field(default_factory=list)

    def apply_threshold(self, sample: Sample, threshold: float) -> None:
        """Precision and recall per fold and overall at one decision threshold (the one the model ships)."""
        self.threshold = threshold
        if "auc" not in self.overall:
            return
        for metrics, rows in [*zip(self.fold_metrics, self.fold_rows, strict=True), (self.overall, self.tested)]:
            precision, recall, selected = evaluation.precision_recall(sample.label[rows], self.oof[rows], threshold)
            metrics.update({"threshold": threshold, "precision": precision, "recall": recall,
                            "selected": float(selected)})


def _fold_metrics(sample: Sample, spec: LabelSpec, rows: np.ndarray, prediction: np.ndarray,
                  target_recall: float, threshold: float | None = None) -> dict[str, float]:
    truth = sample.label[rows]
    if spec.kind == "regression":
        return evaluation.regression_metrics(truth, prediction)
    metrics = evaluation.classification_metrics(truth, prediction, target_recall, threshold)
    metrics.update(evaluation.skill_breakdown(prediction, sample.hit[rows], sample.up_first[rows]))
    return metrics


def make_folds(sample: Sample, spec: LabelSpec, config: WalkForwardConfig) -> list[Fold]:
    return walk_forward(sample.positions, config.folds, spec.horizon, config.embargo, config.mode)


def walk_forward_oof(sample: Sample, spec: LabelSpec, config: WalkForwardConfig,
                     on_fold: FoldCallback | None = None, data: FoldData | None = None) -> WalkForwardResult:
    """`data` lets tuning bin the sample once for all trials (max_bin is not tuned)."""
    folds = make_folds(sample, spec, config)
    params = lgbm_params(spec.kind, config.threads, config.seed, config.params)
    data = data or FoldData.build(sample, folds[0].train, params)
    oof = np.full(len(sample), np.nan)
    fold_metrics, best = [], []
    for fold in folds:
        booster = fit_fold(data, fold, params)
        best.append(int(booster.best_iteration or booster.current_iteration()))
        oof[fold.test] = predict_rows(booster, sample.features[fold.test], config.threads)
        fold_metrics.append(_fold_metrics(sample, spec, fold.test, oof[fold.test], config.target_recall))
        if on_fold:
            on_fold(fold.number, len(folds))
    tested = np.concatenate([f.test for f in folds])
    overall = _fold_metrics(sample, spec, tested, oof[tested], config.target_recall)
    threshold = overall.get("threshold", 0.0)
    if spec.kind != "regression":
        name, value = evaluation.best_single_feature(sample.features[tested], sample.names, sample.label[tested])
        overall.update({"best_feature_auc": value})
        overall["best_feature"] = name  # type: ignore[assignment]
    result = WalkForwardResult(oof, tested, fold_metrics, overall, best, params, threshold,
                               [f.test for f in folds])
    result.apply_threshold(sample, threshold)
    return result


def final_model(sample: Sample, result: WalkForwardResult) -> lgb.Booster:
    """Fit on all rows for the median best round count of the folds."""
    return fit_final(sample, result.params, int(np.median(result.best_iterations)))
