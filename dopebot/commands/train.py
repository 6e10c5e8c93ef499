"""`dopebot train`: settings + options -> candles -> purged walk-forward (optionally tuned) -> saved model,
registry row, summary table and optional JSON report."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from dopebot.commands.candles import CandleOptions, load_candles, period, select_market, symbol_from_file
from dopebot.core.config import Settings, override
from dopebot.core.timeframes import width_ms
from dopebot.feeds.history import CandleSeries, read_candles
from dopebot.market.labels import LabelSpec
from dopebot.models.pipeline import WalkForwardConfig
from dopebot.models.training import TrainOutcome, TrainRequest, train_model
from dopebot.models.tuning import TuningResult


@dataclass(frozen=True)
class TrainOptions(CandleOptions):
    """Command-line options; None means 'take it from the settings'."""

    take_profit: float | None = None
    stop_loss: float | None = None
    horizon: int | None = None
    label: str | None = None
    folds: int | None = None
    embargo: int | None = None
    seed: int | None = None
    models_dir: Path | None = None
    tune: int = 0
    objective: str = "precision"
    mode: str = "expanding"
    barrier: str = "pct"
    second: Path | None = None
    json_out: Path | None = None
    register: bool = True
    trading: bool = True


def apply_options(settings: Settings, options: TrainOptions) -> Settings:
    settings = select_market(settings, options.data, options.exchange, options.symbol, options.timeframe)
    settings = override(settings, "train", take_profit=options.take_profit, stop_loss=options.stop_loss,
                        horizon=options.horizon, label=options.label, folds=options.folds,
                        embargo=options.embargo, seed=options.seed)
    return override(settings, "models", models_dir=str(options.models_dir) if options.models_dir else None)


def load_series(settings: Settings, options: TrainOptions) -> tuple[CandleSeries, CandleSeries | None]:
    series = load_candles(settings, options.data, options.start, options.end)
    start, end = period(options.start, options.end)
    timeframe = settings.exchange.timeframe
    other = None
    if options.second:
        second_symbol = symbol_from_file(options.second)[0] or options.second.stem
        other = read_candles(options.second, second_symbol, width_ms(timeframe), start, end)
    return series, other


def label_spec(settings: Settings, barrier: str = "pct") -> LabelSpec:
    train = settings.train
    return LabelSpec(kind=train.label, horizon=train.horizon, take_profit=train.take_profit,
                     stop_loss=train.stop_loss, fee=settings.backtest.fee, barrier=barrier)


def run(settings: Settings, options: TrainOptions, now_ms: int) -> TrainOutcome:
    settings = apply_options(settings, options)
    console = Console(stderr=True)
    series, other = load_series(settings, options)
    spec = label_spec(settings, options.barrier)
    train = settings.train
    config = WalkForwardConfig(folds=train.folds, embargo=train.embargo, seed=train.seed, mode=options.mode,
                               threads=settings.models.train_threads, target_recall=train.target_recall)
    threshold, tuning = None, None
    if options.tune:
        tuning = _tune_with_progress(series, other, spec, config, options, console)
        config, threshold = tuning.config, tuning.threshold
    request = TrainRequest(series.symbol, settings.exchange.timeframe, series.width_ms, spec, config,
                           Path(settings.models.models_dir), now_ms, other.symbol if other else None,
                           str(options.data or ""))
    extra = {"tuning": tuning.summary} if tuning is not None else None
    outcome = _train_with_progress(request, series, other, threshold, console, extra)
    report = build_report(outcome)
    trading = _evaluate_trading(settings, series, outcome, report) if options.trading else None
    if options.register:  # after the trading section is in the card, so the registry's copy has it too
        _register(settings, outcome, now_ms)
    out = Console()
    out.width = max(out.width, 110)  # eleven numeric columns: wrap the terminal rather than truncate numbers
    out.print(summary_table(outcome))
    if trading is not None:
        from dopebot.commands.train_trading import trading_table

        out.print(trading_table(trading))
    if options.json_out:
        options.json_out.write_text(json.dumps(report, indent=2, default=str))
    return outcome


def _evaluate_trading(settings: Settings, series: CandleSeries, outcome: TrainOutcome,
                      report: dict[str, Any]) -> dict[str, Any] | None:
    """Trade the out-of-fold predictions, put the result in the report and in the model card (its
    `trading` section); returns that section, or None when the label has no barriers to trade."""
    from dopebot.commands.train_trading import evaluate_trading
    from dopebot.models.cards import add_to_card

    evaluation = evaluate_trading(settings, series, outcome)
    report["trading"] = evaluation.strategies if evaluation is not None else {}
    if evaluation is None:
        return None
    section = evaluation.to_card()
    report["trading_exits"], report["trading_period"] = section["exits"], section["period"]
    outcome.card = add_to_card(outcome.card_path.parent, outcome.model_id, "trading", section)
    return section


def _train_with_progress(request: TrainRequest, series: CandleSeries, other: CandleSeries | None,
                         threshold: float | None, console: Console, extra: dict[str, Any] | None) -> TrainOutcome:
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
               TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("walk-forward folds", total=request.config.folds)

        def on_fold(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        return train_model(request, series.frame, other.frame if other else None, on_fold, threshold, extra)


def _tune_with_progress(series: CandleSeries, other: CandleSeries | None, spec: LabelSpec,
                        config: WalkForwardConfig, options: TrainOptions, console: Console) -> TuningResult:
    from dopebot.models.dataset import build_sample
    from dopebot.models.tuning import tune

    sample = build_sample(series.frame, series.width_ms, spec, other.frame if other else None)
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
               TextColumn("best {task.fields[best]:.4f}"), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(f"tuning ({options.objective})", total=options.tune, best=float("nan"))

        def on_trial(done: int, total: int, best: float) -> None:
            progress.update(task, completed=done, best=best)

        result = tune(sample, spec, config, options.tune, options.objective, on_trial)
    summary = result.summary
    console.print(f"tried {summary['trials']} configurations; best {summary['objective']} "
                  f"{summary['best_value']:.4f}, Sharpe per trade {summary['best_sharpe_per_trade']:.3f} over "
                  f"{summary['best_trades']} trades, deflated Sharpe ratio {summary['deflated_sharpe']:.3f} "
                  "(probability the best is more than luck)")
    return result


def _register(settings: Settings, outcome: TrainOutcome, now_ms: int) -> None:
    from dopebot.models import registry
    from dopebot.store.db import open_store

    db = open_store(settings.bot.state_file)
    try:
        registry.register(db, outcome.card, outcome.card_path.with_suffix(".txt"), now_ms)
    finally:
        db.close()


def build_report(outcome: TrainOutcome) -> dict[str, Any]:
    card = outcome.card
    return {"model_id": outcome.model_id, "card": str(outcome.card_path), "threshold": card["threshold"],
            "label": card["label"], "folds": card["validation"]["folds_metrics"],
            "overall": card["validation"]["overall"], "data": card["data"], "tuning": card.get("tuning")}


_COLUMNS_CLASSIFIER = {"auc": "AUC", "auc_hit": "hit AUC", "auc_direction": "dir AUC", "log_loss": "logloss",
                       "brier": "Brier", "base_rate": "base", "precision_at_recall": "P@R", "precision": "prec",
                       "recall": "recall"}
_COLUMNS_REGRESSION = {"mae": "MAE", "r2": "R²", "directional_accuracy": "direction"}


def summary_table(outcome: TrainOutcome) -> Table:
    card = outcome.card
    regression = card["label"]["kind"] == "regression"
    names = _COLUMNS_REGRESSION if regression else _COLUMNS_CLASSIFIER
    table = Table(title=f"{outcome.model_id}  (threshold {card['threshold']:.4f})", box=box.SIMPLE_HEAD,
                  pad_edge=False)
    table.add_column("fold")
    table.add_column("rows", justify="right", no_wrap=True)
    for header in names.values():
        table.add_column(header, justify="right", no_wrap=True)
    folds = card["validation"]["folds_metrics"]
    for number, metrics in enumerate([*folds, card["validation"]["overall"]], start=1):
        label = str(number) if number <= len(folds) else "[bold]all"
        table.add_row(label, f"{int(metrics['rows']):,}", *(f"{metrics.get(n, float('nan')):.3f}" for n in names))
    overall = card["validation"]["overall"]
    if not regression:
        table.caption = (f"baseline: best single feature {overall['best_feature']} AUC "
                         f"{overall['best_feature_auc']:.3f}. hit AUC: a barrier is hit within H; dir AUC: "
                         "take-profit first, given a hit; P@R: precision at the target recall")
    return table
