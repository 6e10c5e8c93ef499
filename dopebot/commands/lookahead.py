"""`dopebot check-lookahead`: recompute features (and a model's decisions), or with `--strategy` a
strategy's indicators and decisions, on data truncated at random cut points and compare with the full-data
values; any difference is reported and fails the command."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from dopebot.commands.train import TrainOptions, apply_options, load_series
from dopebot.core.config import Settings
from dopebot.core.errors import DataError
from dopebot.feeds.history import CandleSeries
from dopebot.market.features import WARMUP, batch_features
from dopebot.models.lookahead import (
    COLUMNS,
    LookaheadReport,
    StrategyLookaheadReport,
    check_lookahead,
    check_strategy_lookahead,
    cut_points,
    strategy_values,
    warm_up,
)


def run(settings: Settings, data: Path | None, symbol: str | None, timeframe: str | None, start: str | None,
        end: str | None, model_id: str | None, cuts: int, seed: int, second: Path | None = None,
        strategy: str | None = None) -> LookaheadReport | StrategyLookaheadReport:
    """Without `strategy`: the built-in features (and `model_id`'s decisions). With it: that strategy's
    indicators and decisions, plus the model check when `model_id` is also given. Fails on any change."""
    options = TrainOptions(data=data, symbol=symbol, timeframe=timeframe, start=start, end=end, second=second)
    settings = apply_options(settings, options)
    series, other = load_series(settings, options)
    if strategy is None:
        return _check_features(settings, series, other, model_id, cuts, seed)
    report = check_strategy(strategy, series, cuts, seed, settings.strategy_params.get(strategy))
    if model_id:
        _check_features(settings, series, other, model_id, cuts, seed)
    return report


def check_strategy(name_or_path: str, series: CandleSeries, cuts: int, seed: int,
                   params: dict[str, Any] | None = None) -> StrategyLookaheadReport:
    """Freqtrade's lookahead-analysis for dopebot strategies: indicators and decisions on truncated data
    must equal the full-data ones at every row before the cut. `params` as in [strategies.NAME]."""
    from dopebot.trading.loader import load_strategy

    strategy = load_strategy(name_or_path, params)
    columns = {name: series.column(name) for name in COLUMNS}
    minimum = max(warm_up(strategy_values(strategy, columns)) + 1, 2)  # cuts where the indicators have values
    points = cut_points(len(series), cuts, seed, minimum)
    if not points:
        raise DataError(f"{len(series):,} candles are too few to check strategy {strategy.name} "
                        f"(its indicators need {minimum - 1:,} to warm up)")
    report = check_strategy_lookahead(strategy, columns, points)
    Console().print(_strategy_table(report, len(series)))
    if report.leaky_indicators:
        found = ", ".join(f"{name} ({report.mismatches[name]:,} rows, first at row {report.first_mismatch[name]:,})"
                          for name in report.leaky_indicators)
        raise DataError(f"lookahead in strategy {strategy.name}: indicator values change when later candles are "
                        f"removed: {found}")
    if not report.clean:
        raise DataError(f"lookahead in strategy {strategy.name}: its decisions change when later candles are "
                        "removed (target() depends on more than the indicator values of its candle)")
    return report


def _check_features(settings: Settings, series: CandleSeries, other: CandleSeries | None, model_id: str | None,
                    cuts: int, seed: int) -> LookaheadReport:
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


def _strategy_table(report: StrategyLookaheadReport, rows: int) -> Table:
    table = Table(title=f"lookahead check of strategy {report.strategy}: {len(report.cuts)} cut points over "
                        f"{rows:,} candles")
    table.add_column("what")
    table.add_column("rows that changed", justify="right")
    table.add_column("first row", justify="right")
    entries = [*((f"indicator {name}", count, report.first_mismatch.get(name))
                 for name, count in report.mismatches.items()),
               *((f"decisions when {mode}", count, report.first_decision_mismatch.get(mode))
                 for mode, count in report.decision_mismatches.items())]
    for what, count, first in entries:
        style = "red" if count else "green"
        table.add_row(f"[{style}]{what}", f"{count:,}", "" if first is None else f"{first:,}")
    return table


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


