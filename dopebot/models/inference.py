"""Using a trained model: batch predictions aligned to candles (backtest) and one candle at a time
(paper/live). Both compute features from the same definitions and feed LightGBM float64 rows, so a
backtest sees the values the live runner would have produced. Neither imports pandas or the lightgbm
package: features are numpy, the model is the C library through dopebot.models.native."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from dopebot.core.errors import UsageError
from dopebot.core.timeframes import width_ms
from dopebot.core.types import Candle
from dopebot.market.features import WARMUP, IncrementalFeatures, feature_matrix
from dopebot.models.artifacts import LoadedModel
from dopebot.models.native import FastPredictor

if TYPE_CHECKING:
    import pandas as pd

CANDLE_COLUMNS = ("timestamp", "open", "high", "low", "close", "volume")


def predict_columns(model: LoadedModel, columns: Mapping[str, np.ndarray],
                    other: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
    """One value per candle of `columns` (timestamp = open time ms, open, high, low, close, volume); NaN for
    warm-up rows or rows with a missing input (a second symbol's candle absent)."""
    if model.secondary and other is None:
        raise UsageError(f"model {model.id} needs candles of {model.card['secondary_symbol']} as well")
    matrix = feature_matrix(columns, width_ms(model.card["timeframe"]), other if model.secondary else None)
    # predict every row after warm-up (cheaper than copying out the valid ones; the Fortran-ordered matrix is
    # read in place), then blank the rows that had no features
    out = np.full(len(matrix), np.nan)
    if len(matrix) > WARMUP:
        ready = matrix[WARMUP:]
        model.booster.predict(ready, num_threads=model.threads, out=out[WARMUP:])
        out[WARMUP:][~np.isfinite(ready).all(axis=1)] = np.nan
    return out


def predict_frame(model: LoadedModel, frame: pd.DataFrame, other: pd.DataFrame | None = None) -> np.ndarray:
    """predict_columns for candle frames (on-disk schema)."""
    columns = {name: frame[name].to_numpy() for name in CANDLE_COLUMNS}
    other_columns = None if other is None else {name: other[name].to_numpy() for name in ("timestamp", "close")}
    return predict_columns(model, columns, other_columns)


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
