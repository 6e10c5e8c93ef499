"""Out-of-sample metrics for classifiers and regressors, in numpy only (no scikit-learn dependency).

Every metric function takes the truth first and the prediction second and ignores nothing: callers pass
only rows that have both."""

from __future__ import annotations

import math

import numpy as np

_EPS = 1e-15


def average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks with ties sharing their mean rank (what the Mann-Whitney AUC needs)."""
    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    starts = np.flatnonzero(np.concatenate([[True], ordered[1:] != ordered[:-1]]))
    ends = np.concatenate([starts[1:], [len(values)]])
    mean_rank = (starts + ends + 1) / 2.0
    ranks = np.empty(len(values))
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


def auc(truth: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve; NaN when only one class is present."""
    truth = truth.astype(bool)
    positives = int(truth.sum())
    negatives = len(truth) - positives
    if positives == 0 or negatives == 0:
        return math.nan
    ranks = average_ranks(np.asarray(score, dtype=float))
    return float((ranks[truth].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def log_loss(truth: np.ndarray, probability: np.ndarray) -> float:
    p = np.clip(probability, _EPS, 1 - _EPS)
    return float(-np.mean(truth * np.log(p) + (1 - truth) * np.log(1 - p)))


def brier(truth: np.ndarray, probability: np.ndarray) -> float:
    return float(np.mean((probability - truth) ** 2))


def threshold_at_recall(truth: np.ndarray, probability: np.ndarray, recall: float) -> float:
    """The highest threshold whose recall (p >= threshold) reaches `recall`: the model's operating point."""
    positives = np.sort(probability[truth.astype(bool)])[::-1]
    if len(positives) == 0:
        return 1.0
    needed = max(math.ceil(recall * len(positives)), 1)
    return float(positives[needed - 1])


def precision_recall(truth: np.ndarray, probability: np.ndarray, threshold: float) -> tuple[float, float, int]:
    """Precision and recall of `p >= threshold`, and how many rows it selects."""
    chosen = probability >= threshold
    selected = int(chosen.sum())
    hits = int((chosen & truth.astype(bool)).sum())
    positives = int(truth.sum())
    precision = hits / selected if selected else math.nan
    return precision, (hits / positives if positives else math.nan), selected


def classification_metrics(truth: np.ndarray, probability: np.ndarray, target_recall: float,
                           threshold: float | None = None) -> dict[str, float]:
    """AUC, log loss, Brier, base rate, precision at the target recall and at the chosen threshold."""
    at_recall = threshold_at_recall(truth, probability, target_recall)
    precision_at, _, _ = precision_recall(truth, probability, at_recall)
    chosen = at_recall if threshold is None else threshold
    precision, recall, selected = precision_recall(truth, probability, chosen)
    return {
        "rows": float(len(truth)), "auc": auc(truth, probability), "log_loss": log_loss(truth, probability),
        "brier": brier(truth, probability), "base_rate": float(np.mean(truth)),
        "precision_at_recall": precision_at, "threshold": chosen, "precision": precision, "recall": recall,
        "selected": float(selected),
    }


def regression_metrics(truth: np.ndarray, prediction: np.ndarray) -> dict[str, float]:
    """MAE, R^2 against the mean of the truth, and how often the sign is right."""
    residual = truth - prediction
    total = float(np.sum((truth - truth.mean()) ** 2))
    return {
        "rows": float(len(truth)), "mae": float(np.mean(np.abs(residual))),
        "r2": 1 - float(np.sum(residual ** 2)) / total if total > 0 else math.nan,
        "directional_accuracy": float(np.mean(np.sign(truth) == np.sign(prediction))),
    }


def skill_breakdown(probability: np.ndarray, hit: np.ndarray, up_first: np.ndarray) -> dict[str, float]:
    """Where the AUC comes from: predicting that a barrier is hit at all (volatility) versus predicting
    which one comes first given one is hit (direction). Only the second is an edge a long bet can use."""
    hit_mask = hit == 1
    return {"auc_hit": auc(hit, probability),
            "auc_direction": auc(up_first[hit_mask], probability[hit_mask])}


def best_single_feature(features: np.ndarray, names: list[str] | tuple[str, ...],
                        truth: np.ndarray, max_rows: int = 100_000) -> tuple[str, float]:
    """The feature whose value alone ranks the label best (AUC folded above 0.5): the baseline to beat."""
    stride = max(len(truth) // max_rows, 1)  # a regular subsample keeps 35 sorts of a year cheap
    features, truth = features[::stride], truth[::stride]
    best_name, best = "", 0.5
    for column, name in enumerate(names):
        value = auc(truth, features[:, column])
        folded = max(value, 1 - value) if value == value else 0.5
        if folded > best:
            best_name, best = name, folded
    return best_name, best
