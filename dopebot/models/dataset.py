"""Turn candles into a training sample: features (known at t) next to labels (decided after t), with
warm-up rows and rows whose label window runs past the data end dropped, never filled."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dopebot.market.features import batch_features
from dopebot.market.labels import LabelSpec, make_labels


@dataclass(frozen=True)
class Sample:
    """Rows usable for training, in time order; `positions` are row numbers in the candle frame."""

    features: np.ndarray  # float64 (rows, features), C-contiguous
    label: np.ndarray
    hit: np.ndarray
    up_first: np.ndarray
    trade_return: np.ndarray
    exit_after: np.ndarray
    positions: np.ndarray
    close_time: np.ndarray
    names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.label)


def build_sample(frame: pd.DataFrame, width_ms: int, spec: LabelSpec,
                 other: pd.DataFrame | None = None) -> Sample:
    features = batch_features(frame, width_ms, other)
    labels = make_labels(frame, spec)
    matrix = np.ascontiguousarray(features.to_numpy(dtype=np.float64))
    keep = np.isfinite(matrix).all(axis=1) & np.isfinite(labels.label)
    rows = np.flatnonzero(keep)
    return Sample(
        features=np.ascontiguousarray(matrix[rows]), label=labels.label[rows], hit=labels.hit[rows],
        up_first=labels.up_first[rows], trade_return=labels.trade_return[rows],
        exit_after=labels.exit_after[rows], positions=rows,
        close_time=frame["timestamp"].to_numpy()[rows] + width_ms, names=tuple(features.columns),
    )


def content_hash(frame: pd.DataFrame) -> str:
    """SHA-256 of the candle columns' bytes: names the exact training data in the model card."""
    digest = hashlib.sha256()
    for name in ("timestamp", "open", "high", "low", "close", "volume"):
        digest.update(np.ascontiguousarray(frame[name].to_numpy()).tobytes())
    return digest.hexdigest()
