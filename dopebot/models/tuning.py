"""Hyper-parameter search with Optuna's seeded TPE over LightGBM's main parameters and the decision
threshold. Every trial is a full purged walk-forward, so its score is out-of-sample; but the best of N
trials is still flattered by luck, so we report how many were tried and the deflated Sharpe ratio
(Bailey & López de Prado, 2014): the probability that the best Sharpe beats what N lucky tries would give."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np

from dopebot.core.errors import UsageError
from dopebot.market.labels import LabelSpec
from dopebot.models import evaluation
from dopebot.models.dataset import Sample
from dopebot.models.lgbm import FoldData, lgbm_params
from dopebot.models.pipeline import WalkForwardConfig, make_folds, walk_forward_oof

TrialCallback = Callable[[int, int, float], None]  # (trials done, total, best value so far)
_EULER_GAMMA = 0.5772156649015329


@dataclass
class TuningResult:
    config: WalkForwardConfig
    threshold: float
    summary: dict[str, Any]


def label_trades(sample: Sample, rows: np.ndarray, probability: np.ndarray, threshold: float) -> np.ndarray:
    """Net returns of non-overlapping trades: enter when flat and p >= threshold, exit as the label did
    (take-profit, stop or timeout, fees included). A quick OOF proxy for the backtest, not a replacement."""
    chosen = np.flatnonzero(probability >= threshold)
    positions, exits = sample.positions[rows], sample.exit_after[rows]
    returns, free_from = [], -1
    for index in chosen.tolist():
        position = int(positions[index])
        if position >= free_from:
            returns.append(sample.trade_return[rows[index]])
            free_from = position + int(exits[index])
    return np.asarray(returns, dtype=float)


def sharpe(returns: np.ndarray) -> float:
    """Per-trade Sharpe ratio (mean over standard deviation), not annualised."""
    if len(returns) < 2 or returns.std(ddof=1) == 0:
        return 0.0
    return float(returns.mean() / returns.std(ddof=1))


def deflated_sharpe(best: float, trial_sharpes: list[float], returns: np.ndarray) -> float:
    """Probability that the true Sharpe of the best trial exceeds the maximum expected from N tries of
    skill-less configurations with the observed spread of Sharpe ratios."""
    n, t = len(trial_sharpes), len(returns)
    if n < 2 or t < 3:
        return math.nan
    normal = NormalDist()
    spread = float(np.std(trial_sharpes, ddof=1))
    expected_max = spread * ((1 - _EULER_GAMMA) * normal.inv_cdf(1 - 1 / n)
                             + _EULER_GAMMA * normal.inv_cdf(1 - 1 / (n * math.e)))
    centred = returns - returns.mean()
    sd = returns.std()
    skew = float(np.mean(centred ** 3) / sd ** 3) if sd > 0 else 0.0
    kurtosis = float(np.mean(centred ** 4) / sd ** 4) if sd > 0 else 3.0
    denominator = 1 - skew * best + (kurtosis - 1) / 4 * best ** 2
    if denominator <= 0:
        return math.nan
    return normal.cdf((best - expected_max) * math.sqrt(t - 1) / math.sqrt(denominator))


def _suggest(trial: Any) -> dict[str, Any]:
    return {
        "num_leaves": trial.suggest_int("num_leaves", 7, 127, log=True),
        "learning_rate": trial.suggest_float("learning_rate", 0.02, 0.3, log=True),
        "min_data_in_leaf": trial.suggest_int("min_data_in_leaf", 50, 5000, log=True),
        "feature_fraction": trial.suggest_float("feature_fraction", 0.4, 1.0),
        "lambda_l2": trial.suggest_float("lambda_l2", 1e-3, 10.0, log=True),
    }


def tune(sample: Sample, spec: LabelSpec, config: WalkForwardConfig, trials: int, objective: str = "precision",
         on_trial: TrialCallback | None = None) -> TuningResult:
    """`objective` "precision" (at the target recall) or "sharpe" (OOF label trades after fees)."""
    import optuna

    if spec.kind != "triple_barrier":
        raise UsageError("--tune needs the triple_barrier label (it tunes a decision threshold)")
    if objective not in ("precision", "sharpe"):
        raise UsageError(f"tuning objective {objective!r}: expected precision or sharpe")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    base = lgbm_params(spec.kind, config.threads, config.seed, config.params)
    data = FoldData.build(sample, make_folds(sample, spec, config)[0].train, base)
    sharpes: list[float] = []
    trade_log: dict[int, np.ndarray] = {}

    def run_trial(trial: Any) -> float:
        params = _suggest(trial)
        result = walk_forward_oof(sample, spec, dataclasses.replace(config, params=params), data=data)
        rows, probability = result.tested, result.oof[result.tested]
        if objective == "sharpe":
            quantile = trial.suggest_float("threshold_quantile", 0.5, 0.995)
            threshold = float(np.quantile(probability, quantile))
        else:
            threshold = result.threshold
        trades = label_trades(sample, rows, probability, threshold)
        sharpes.append(sharpe(trades))
        trade_log[trial.number] = trades
        precision = evaluation.precision_recall(sample.label[rows], probability, threshold)[0]
        trial.set_user_attr("precision_at_threshold", precision)
        trial.set_user_attr("threshold", threshold)
        trial.set_user_attr("sharpe", sharpes[-1])
        trial.set_user_attr("trades", len(trades))
        trial.set_user_attr("auc", result.overall["auc"])
        return sharpes[-1] if objective == "sharpe" else result.overall["precision_at_recall"]

    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=config.seed))
    study.optimize(run_trial, n_trials=trials,
                   callbacks=[lambda s, t: on_trial and on_trial(len(s.trials), trials, s.best_value)])
    return _result(study, config, sharpes, trade_log, objective)


def _result(study: Any, config: WalkForwardConfig, sharpes: list[float], trade_log: dict[int, np.ndarray],
            objective: str) -> TuningResult:
    best = study.best_trial
    params = {k: v for k, v in best.params.items() if k != "threshold_quantile"}
    threshold = float(best.user_attrs["threshold"])
    trades = trade_log[best.number]
    summary = {
        "trials": len(study.trials), "objective": objective, "best_value": float(best.value),
        "best_params": params, "threshold": threshold, "best_sharpe_per_trade": best.user_attrs["sharpe"],
        "best_trades": best.user_attrs["trades"], "best_auc": best.user_attrs["auc"],
        "deflated_sharpe": deflated_sharpe(best.user_attrs["sharpe"], sharpes, trades),
        "trial_sharpes": sharpes, "precision_at_threshold": best.user_attrs["precision_at_threshold"],
    }
    return TuningResult(dataclasses.replace(config, params=params), threshold, summary)
