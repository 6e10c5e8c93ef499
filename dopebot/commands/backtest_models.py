"""`dopebot backtest --model ID | champion`, `--thresholds LOW:HIGH:STEP` and `--compare ID1,ID2`: trained
models' predictions computed in batch, traded through the per-candle path with the exits the model's label
describes. Backtests that overlap a model's training data are flagged loudly: they are in-sample."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from dopebot.core.config import Settings, override
from dopebot.core.errors import UsageError
from dopebot.core.timeframes import iso
from dopebot.feeds.history import CandleSeries
from dopebot.runtime.backtest import ModelOutputs
from dopebot.trading.loader import load_strategy, strategy_class
from dopebot.trading.result import BacktestResult
from dopebot.trading.strategy import Strategy

MODEL_STRATEGY = "lgbm_threshold"


@dataclass(frozen=True)
class ModelRun:
    """One model's batch predictions and the settings its label implies."""

    model_id: str
    outputs: ModelOutputs
    settings: Settings
    threshold: float | None  # from a trained model's card; None for a baseline
    overlap: str  # empty when the backtest is out of sample


def resolve_model_id(settings: Settings, identifier: str) -> str:
    if identifier != "champion":
        return identifier
    from dopebot.models import registry
    from dopebot.store.db import open_connection

    database = open_connection(settings.bot.state_file)
    try:
        chosen = registry.champion(database)
    finally:
        database.close()
    if chosen is None:
        raise UsageError(f"no champion model in {settings.bot.state_file}; "
                         "promote one with `dopebot models promote ID`")
    return chosen


def prepare(settings: Settings, series: CandleSeries, identifier: str, explicit_exits: bool) -> ModelRun:
    """Load and verify the model, predict every candle, and take exits from its label unless given.
    A built-in baseline needs no file: its predictions are computed here, and it has no card. A model with
    a file needs neither pandas nor the lightgbm package (numpy features, LightGBM's C library)."""
    from dopebot.models.baselines import BASELINES

    if identifier in BASELINES:
        baseline = BASELINES[identifier]()
        outputs = ModelOutputs(identifier, baseline.batch(series.columns), baseline.horizon, baseline.kind)
        return ModelRun(identifier, outputs, settings, None, "")
    from dopebot.models.artifacts import load_model
    from dopebot.models.inference import predict_columns

    model_id = resolve_model_id(settings, identifier)
    # predicting a whole period is a batch job: it gets the training threads, not the live one-row setting
    model = load_model(settings.models.models_dir, model_id, settings.models.train_threads)
    if model.card.get("symbol") != series.symbol:
        raise UsageError(f"model {model_id} was trained on {model.card.get('symbol')}, not {series.symbol}")
    outputs = ModelOutputs(model_id, predict_columns(model, series.columns), model.horizon, model.kind)
    if not explicit_exits:
        settings = _label_exits(settings, model.card, model.horizon)
    data = model.card.get("data", {})
    start, end = int(series.open_time[0]), int(series.close_time[-1])
    overlap = ""
    if data and start < int(data["end"]) and int(data["start"]) < end:
        overlap = (f"backtest {iso(start)} → {iso(end)} overlaps model {model_id}'s training data "
                   f"{iso(int(data['start']))} → {iso(int(data['end']))}: these results are in-sample")
    return ModelRun(model_id, outputs, settings, model.threshold, overlap)


def _label_exits(settings: Settings, card: dict, horizon: int) -> Settings:
    """Exits that match what the model learned: the triple barrier's take-profit and stop-loss (fees
    included as in the label) and a time exit at its horizon. Volatility barriers differ per trade, so they
    take the fixed exits the training's trading evaluation chose and recorded in the card (median widths over
    training rows); a card without them keeps the configured exits."""
    label = card["label"]
    if label.get("kind") != "triple_barrier":
        return settings
    if label.get("barrier") == "pct":
        fee = float(label.get("fee", 0.0))
        return override(settings, "trading", take_profit=label["take_profit"] + 2 * fee,
                        stop_loss=max(label["stop_loss"] - 2 * fee, 1e-4), max_hold=horizon)
    exits = (card.get("trading") or {}).get("exits")
    if label.get("barrier") == "vol" and exits:
        return override(settings, "trading", take_profit=exits["take_profit"], stop_loss=exits["stop_loss"],
                        max_hold=int(exits["max_hold"]))
    return settings


def strategy_for(settings: Settings, run: ModelRun, threshold: float | None = None) -> Strategy:
    """The configured strategy if it trades on predictions, else lgbm_threshold at the card's threshold."""
    name = settings.trading.strategy
    if not strategy_class(name).uses_predictions:
        name = MODEL_STRATEGY
    params = dict(settings.strategy_params.get(name, {}))
    fields = {f.name for f in dataclasses.fields(strategy_class(name).Params)}
    chosen = run.threshold if threshold is None else threshold
    if "threshold" in fields and chosen is not None:
        params["threshold"] = chosen
    if "model" in fields:
        params["model"] = run.model_id
    return load_strategy(name, params)


def warn_overlap(console: Console, run: ModelRun) -> None:
    if run.overlap:
        console.print(Panel(f"[bold red]IN-SAMPLE[/bold red] {run.overlap}. Only out-of-sample periods count.",
                            border_style="red"))


def parse_thresholds(text: str) -> list[float]:
    try:
        low, high, step = (float(part) for part in text.split(":"))
    except ValueError:
        raise UsageError(f"--thresholds {text!r}: expected LOW:HIGH:STEP, e.g. 0.5:0.8:0.05") from None
    if not (0 < low <= high <= 1 and step > 0):
        raise UsageError(f"--thresholds {text!r}: need 0 < LOW <= HIGH <= 1 and STEP > 0")
    count = round((high - low) / step) + 1
    return [round(low + index * step, 10) for index in range(count) if low + index * step <= high + 1e-12]


def comparison_table(title: str, rows: list[tuple[str, BacktestResult]], first: str = "model") -> Table:
    from dopebot.reports.summary import number, percent
    from dopebot.trading.metrics import compute_metrics

    table = Table(title=title)
    for column in (first, "trades", "return", "Sharpe", "max drawdown", "win rate", "profit factor",
                   "net per trade", "fees"):
        table.add_column(column, justify="left" if column == first else "right")
    for label, result in rows:
        metrics = compute_metrics(result)
        table.add_row(label, f"{metrics.trades:,}", percent(metrics.total_return), number(metrics.sharpe),
                      percent(metrics.max_drawdown), percent(metrics.win_rate), number(metrics.profit_factor),
                      percent(metrics.average_trade_pct), f"{metrics.fees_paid:,.2f}")
    return table


def sweep(run: ModelRun, thresholds: list[float],
          backtest: Callable[[Strategy, float], BacktestResult]) -> list[tuple[str, BacktestResult]]:
    """One backtest per entry threshold of the run's strategy; `backtest(strategy, threshold)` replays it."""
    if "threshold" not in {f.name for f in dataclasses.fields(strategy_for(run.settings, run).Params)}:
        raise UsageError(f"--thresholds: strategy {strategy_for(run.settings, run).name} has no threshold parameter")
    return [(f"{threshold:g}", backtest(strategy_for(run.settings, run, threshold), threshold))
            for threshold in thresholds]
