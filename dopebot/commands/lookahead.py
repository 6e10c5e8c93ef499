"""`dopebot check-lookahead`: recompute features (and a model's decisions) on data truncated at random
cut points and compare with the full-data values; any difference is reported and fails the command."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from dopebot.commands.train import TrainOptions, apply_options, load_series
from dopebot.core.config import Settings
from dopebot.core.errors import DataError
from dopebot.market.features import WARMUP, batch_features
from dopebot.models.lookahead import LookaheadReport, check_lookahead, cut_points


def run(settings: Settings, data: Path | None, symbol: str | None, timeframe: str | None, start: str | None,
        end: str | None, model_id: str | None, cuts: int, seed: int, second: Path | None = None) -> LookaheadReport:
    options = TrainOptions(data=data, symbol=symbol, timeframe=timeframe, start=start, end=end, second=second)
    settings = apply_options(settings, options)
    series, other = load_series(settings, options)
    other_frame = other.frame if other is not None else None
    decide = None
    if model_id:
        from dopebot.models.artifacts import load_model
        from dopebot.models.inference import predict_frame

        model = load_model(settings.models.models_dir, model_id, settings.models.inference_threads)
        other_frame = other_frame if model.secondary else None

        def decide(frame: pd.DataFrame) -> np.ndarray:
            return predict_frame(model, frame, _matching(other_frame, frame)) >= model.threshold

    def compute(frame: pd.DataFrame) -> pd.DataFrame:
        return batch_features(frame, series.width_ms, _matching(other_frame, frame))

    points = cut_points(len(series), cuts, seed, WARMUP + 1)
    report = check_lookahead(series.frame, compute, points, decide)
    Console().print(_table(report, len(series)))
    if not report.clean:
        names = ", ".join(report.feature_mismatches) or "model decisions"
        raise DataError(f"lookahead found: values change when later candles are removed ({names})")
    return report


def _matching(other: pd.DataFrame | None, frame: pd.DataFrame) -> pd.DataFrame | None:
    """The second symbol truncated at the same moment as the primary, so it cannot leak either."""
    if other is None:
        return None
    return other[other["timestamp"] <= frame["timestamp"].iloc[-1]]


def _table(report: LookaheadReport, rows: int) -> Table:
    table = Table(title=f"lookahead check: {len(report.cuts)} cut points over {rows:,} candles")
    table.add_column("what")
    table.add_column("rows that changed", justify="right")
    table.add_column("first row", justify="right")
    for name, count in report.feature_mismatches.items():
        table.add_row(name, f"{count:,}", str(report.first_mismatch[name]))
    if report.decision_mismatches:
        table.add_row("model decisions", f"{report.decision_mismatches:,}", "")
    if report.clean:
        table.add_row("[green]all features and decisions", "0", "")
    return table


