"""One training run from candles to a saved, carded model: sample, purged walk-forward, final fit, save.
The caller passes the creation time (domain code never reads the clock)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dopebot.market.features import feature_set_id
from dopebot.market.labels import LabelSpec
from dopebot.models.dataset import Sample, build_sample, content_hash
from dopebot.models.pipeline import FoldCallback, WalkForwardConfig, WalkForwardResult, final_model, walk_forward_oof


@dataclass(frozen=True)
class TrainRequest:
    symbol: str
    timeframe: str
    width_ms: int
    spec: LabelSpec
    config: WalkForwardConfig
    models_dir: Path
    created_ms: int
    secondary_symbol: str | None = None
    source: str = ""


@dataclass
class TrainOutcome:
    model_id: str
    card_path: Path
    card: dict[str, Any]
    sample: Sample
    result: WalkForwardResult


def make_card(request: TrainRequest, frame: pd.DataFrame, sample: Sample, result: WalkForwardResult,
              rounds: int) -> dict[str, Any]:
    """Everything needed to trust and reproduce the model, except its own hash (added when saved)."""
    times = frame["timestamp"].to_numpy()
    return {
        "symbol": request.symbol, "timeframe": request.timeframe, "secondary_symbol": request.secondary_symbol,
        "feature_set": feature_set_id(request.secondary_symbol is not None), "features": list(sample.names),
        "label": request.spec.to_dict(), "params": result.params, "rounds": rounds,
        "data": {"source": request.source, "start": int(times[0]), "end": int(times[-1]) + request.width_ms,
                 "candles": len(frame), "rows": len(sample), "sha256": content_hash(frame)},
        "validation": {**{k: v for k, v in asdict(request.config).items() if k != "params"},
                       "embargo_used": max(request.config.embargo, request.spec.horizon),
                       "folds_metrics": result.fold_metrics, "overall": result.overall,
                       "best_iterations": result.best_iterations},
        "threshold": result.threshold, "created": request.created_ms,
    }


def train_model(request: TrainRequest, frame: pd.DataFrame, other: pd.DataFrame | None = None,
                on_fold: FoldCallback | None = None, threshold: float | None = None,
                extra: dict[str, Any] | None = None) -> TrainOutcome:
    """Walk forward, fit the final model, save file + card. `threshold` overrides the OOF choice (tuning);
    `extra` adds card sections (e.g. the tuning summary)."""
    from dopebot.models.artifacts import save_model

    sample = build_sample(frame, request.width_ms, request.spec, other)
    result = walk_forward_oof(sample, request.spec, request.config, on_fold)
    if threshold is not None:
        result.apply_threshold(sample, threshold)
    booster = final_model(sample, result)
    rounds = int(np.median(result.best_iterations))
    card = {**make_card(request, frame, sample, result, rounds), **(extra or {})}
    saved, card_path = save_model(booster, card, request.models_dir)
    return TrainOutcome(saved["id"], card_path, saved, sample, result)
