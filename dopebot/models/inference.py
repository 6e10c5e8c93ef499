"""Using a trained model: batch predictions aligned to candles (backtest) and one candle at a time
(paper/live). Both compute features from the same definitions and feed LightGBM float64 rows, so a
backtest sees the values the live runner would have produced."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from dopebot.core.timeframes import width_ms
from dopebot.core.types import Candle
from dopebot.market.features import IncrementalFeatures, batch_features
from dopebot.models.artifacts import LoadedModel
from dopebot.models.lgbm import FastPredictor


def predict_frame(model: LoadedModel, frame: pd.DataFrame, other: pd.DataFrame | None = None) -> np.ndarray:
    """One value per candle row of `frame` (on-disk schema); NaN for warm-up rows or missing inputs."""
    if model.secondary and other is None:
        from dopebot.core.errors import UsageError

        raise UsageError(f"model {model.id} needs candles of {model.card['secondary_symbol']} as well")
    features = batch_features(frame, width_ms(model.card["timeframe"]), other if model.secondary else None)
    matrix = features.to_numpy(dtype=np.float64)  # column-major: LightGBM reads it without a copy
    valid = np.isfinite(matrix.T).all(axis=0)
    # predict every row (cheaper than copying out the valid ones), then blank the rows that had no features
    out = np.asarray(model.booster.predict(matrix, num_threads=model.threads), dtype=np.float64)
    out[~valid] = np.nan
    return out


class IncrementalLgbm:
    """Live path: update features with each closed candle and predict through the C fast path.

    Fits dopebot.models.runner.IncrementalModel (update(candle) -> float, NaN while warming up), so
    LiveModelRunner publishes it and measures its latency."""

    def __init__(self, model: LoadedModel) -> None:
        self.model = model
        self.features = IncrementalFeatures(model.secondary)
        self.predictor = FastPredictor(model.booster, len(model.names), model.threads)
        self.other: Candle | None = None  # the second symbol's latest candle, set by whoever feeds it

    def update(self, candle: Candle) -> float:
        values = self.features.update(candle, self.other)
        if values is None:
            return math.nan
        total = sum(values)  # NaN if any input is NaN (missing second-symbol candle): one C call, not 34
        if total != total:
            return math.nan
        return self.predictor.predict(values)
