"""LightGBM training and out-of-fold prediction. Threads are always explicit (training and inference are
configured separately; see notes/lightgbm-threads.md) and training is deterministic for a given seed, so the
same data, config and seed give a byte-identical model file. Inference of saved models goes through
dopebot/models/native.py instead (no lightgbm import)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np

from dopebot.models.dataset import Sample
from dopebot.models.validation import Fold

DEFAULT_PARAMS: dict[str, Any] = {
    "learning_rate": 0.1, "num_leaves": 31, "min_data_in_leaf": 500, "feature_fraction": 0.8,
    "lambda_l2": 1.0, "max_bin": 63, "bagging_fraction": 0.5, "bagging_freq": 1,
}
MAX_ROUNDS = 1000
EARLY_STOPPING = 15


def lgbm_params(kind: str, threads: int, seed: int, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Full parameter set: objective from the label kind, explicit threads, every seed pinned."""
    objective = {"objective": "binary", "metric": "binary_logloss"} if kind == "triple_barrier" else \
        {"objective": "regression", "metric": "l2"}
    return {**DEFAULT_PARAMS, **(overrides or {}), **objective, "num_threads": threads, "seed": seed,
            "deterministic": True, "force_col_wise": True, "verbosity": -1}


def _dataset_params(params: dict[str, Any]) -> dict[str, Any]:
    return {k: params[k] for k in ("max_bin", "verbosity", "num_threads", "seed") if k in params}


@dataclass
class FoldData:
    """One binned copy of the sample shared by every fold through `subset` (binning is the slow part).
    Bin edges come from the first fold's training rows only, so test data never shapes them."""

    full: lgb.Dataset

    @staticmethod
    def build(sample: Sample, first_train: np.ndarray, params: dict[str, Any]) -> FoldData:
        ds_params = _dataset_params(params)
        reference = lgb.Dataset(sample.features[first_train], sample.label[first_train],
                                feature_name=list(sample.names), params=ds_params, free_raw_data=True).construct()
        full = lgb.Dataset(sample.features, sample.label, feature_name=list(sample.names), params=ds_params,
                           reference=reference, free_raw_data=False).construct()
        return FoldData(full)

    def subset(self, rows: np.ndarray) -> lgb.Dataset:
        return self.full.subset(np.asarray(rows, dtype=np.int32))


def fit_fold(data: FoldData, fold: Fold, params: dict[str, Any]) -> lgb.Booster:
    """Train on the fold's rows, stop early on its purged validation tail."""
    train, valid = data.subset(fold.train), data.subset(fold.valid)
    return lgb.train(params, train, num_boost_round=MAX_ROUNDS, valid_sets=[valid],
                     callbacks=[lgb.early_stopping(EARLY_STOPPING, verbose=False)])


def fit_final(sample: Sample, params: dict[str, Any], rounds: int) -> lgb.Booster:
    """The model that gets saved: all rows, the number of rounds the folds found useful."""
    dataset = lgb.Dataset(sample.features, sample.label, feature_name=list(sample.names),
                          params=_dataset_params(params), free_raw_data=True)
    return lgb.train(params, dataset, num_boost_round=max(rounds, 1))


def predict_rows(booster: lgb.Booster, features: np.ndarray, threads: int) -> np.ndarray:
    return booster.predict(features, num_threads=threads, num_iteration=booster.best_iteration or None)
