"""`dopebot backtest`: settings + options -> candles, strategy, node spec -> replay -> report, files, SQLite."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from dopebot.commands.candles import CandleOptions, load_candles, select_market
from dopebot.core.config import Settings, override
from dopebot.core.errors import DopebotError, UsageError
from dopebot.core.money import to_decimal
from dopebot.core.types import Market
from dopebot.execution.simulated import FillModel
from dopebot.feeds.history import CandleSeries
from dopebot.runtime.backtest import ModelOutputs, run_backtest
from dopebot.runtime.node import NodeSpec
from dopebot.trading.loader import load_strategy
from dopebot.trading.result import BacktestResult
from dopebot.trading.strategy import Strategy
from dopebot.trading.trader import TraderConfig

PROGRESS_FROM = 200_000  # candles; smaller runs finish before a bar would be worth drawing


@dataclass(frozen=True)
class BacktestOptions(CandleOptions):
    """Command-line options; None means 'take it from the settings'."""

    strategy: str | None = None
    stake_amount: float | None = None
    stake_fraction: float | None = None
    starting_balance: float | None = None
    fee: float | None = None
    slippage_bps: float | None = None
    stop_loss: float | None = None
    take_profit: float | None = None
    model: str | None = None
    thresholds: str | None = None
    compare: str | None = None
    trades_out: Path | None = None
    json_out: Path | None = None
    plot: Path | None = None
    record: bool = True


class BacktestFailed(DopebotError):
    """A subscriber raised during the replay: the numbers cannot be trusted."""


def apply_options(settings: Settings, options: BacktestOptions) -> Settings:
    """Command-line flags over config.toml, checked by the same rules."""
    if options.stake_amount is not None and options.stake_fraction is not None:
        raise UsageError("give --stake-amount or --stake-fraction, not both")
    settings = override(settings, "trading", strategy=options.strategy, stop_loss=options.stop_loss,
                        take_profit=options.take_profit, stake_amount=options.stake_amount,
                        stake_fraction=options.stake_fraction)
    if options.stake_amount is not None:
        settings = override(settings, "trading", stake_fraction=0.0)
    if options.stake_fraction is not None:
        settings = override(settings, "trading", stake_amount=0.0)
    settings = override(settings, "backtest", starting_balance=options.starting_balance, fee=options.fee,
                        slippage_bps=options.slippage_bps)
    return select_market(settings, options.data, options.exchange, options.symbol, options.timeframe)


def load_series(settings: Settings, options: BacktestOptions) -> CandleSeries:
    return load_candles(settings, options.data, options.start, options.end)


def market_for(settings: Settings) -> Market:
    backtest = settings.backtest
    symbol = settings.exchange.symbols[0]
    try:
        return Market.spot(symbol, backtest.price_step, backtest.amount_step, backtest.min_notional,
                           settings.exchange.name, repr(backtest.fee))
    except (ValueError, ArithmeticError) as error:
        raise UsageError(f"market {symbol}: {error}") from None


def trader_config(settings: Settings) -> TraderConfig:
    trading = settings.trading
    if trading.stake_fraction > 0 and trading.stake_amount > 0:
        raise UsageError("[trading] set stake_amount or stake_fraction, not both (use 0 for the unused one)")
    if trading.stake_fraction <= 0 and trading.stake_amount <= 0:
        raise UsageError("[trading] stake_amount and stake_fraction are both 0: nothing to trade")
    return TraderConfig(
        stake_amount=to_decimal(trading.stake_amount) if trading.stake_amount > 0 else None,
        stake_fraction=to_decimal(trading.stake_fraction) if trading.stake_fraction > 0 else None,
        stop_loss=to_decimal(trading.stop_loss), take_profit=to_decimal(trading.take_profit),
        max_hold=trading.max_hold, max_drawdown=settings.risk.max_drawdown,
        max_position_fraction=to_decimal(settings.risk.max_position_fraction))


def build_spec(settings: Settings, strategy: Strategy, champion: str | None) -> NodeSpec:
    backtest = settings.backtest
    return NodeSpec(market_for(settings), settings.exchange.timeframe, strategy, trader_config(settings),
                    to_decimal(backtest.starting_balance),
                    FillModel(to_decimal(backtest.fee), to_decimal(backtest.slippage_bps), backtest.fill_at),
                    champion=champion)


def run_settings(settings: Settings, series: CandleSeries, strategy: Strategy) -> dict[str, Any]:
    trading, backtest = settings.trading, settings.backtest
    return {
        "strategy": strategy.name, "params": dataclasses.asdict(strategy.params), "fee": backtest.fee,
        "slippage_bps": backtest.slippage_bps, "fill_at": backtest.fill_at,
        "starting_balance": backtest.starting_balance, "stake_amount": trading.stake_amount or None,
        "stake_fraction": trading.stake_fraction or None, "stop_loss": trading.stop_loss or None,
        "take_profit": trading.take_profit or None, "max_hold": trading.max_hold or None,
        "max_drawdown": settings.risk.max_drawdown,
        "price_step": backtest.price_step, "amount_step": backtest.amount_step,
        "min_notional": backtest.min_notional, "candles": len(series),
    }


def replay(spec: NodeSpec, series: CandleSeries, outputs: dict[str, ModelOutputs], info: dict[str, Any],
           console: Console) -> BacktestResult:
    """One backtest, with a progress bar when it is long enough to want one; fails on subscriber errors."""
    if len(series) < PROGRESS_FROM:
        result = run_backtest(spec, series, outputs, settings=info)
    else:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                      TimeRemainingColumn(), console=console, transient=True) as progress:
            task = progress.add_task("replaying candles", total=len(series))
            result = run_backtest(spec, series, outputs, settings=info,
                                  progress=lambda done: progress.update(task, completed=done))
    if result.bus_errors:
        raise BacktestFailed(f"{result.bus_errors} subscriber error(s) during the replay; first: {result.first_error}")
    return result


def run(settings: Settings, options: BacktestOptions, console: Console | None = None) -> BacktestResult | None:
    console = console or Console()
    settings = apply_options(settings, options)
    strategy = load_strategy(settings.trading.strategy, settings.strategy_params.get(settings.trading.strategy))
    series = load_series(settings, options)
    if series.gaps:
        console.print(f"[yellow]{len(series.gaps)} gap(s) in the data, replayed as they are "
                      f"(first: {series.gaps[0]})[/yellow]")
    if strategy.uses_predictions or options.model or options.compare or options.thresholds:
        return run_models(settings, options, series, strategy, console)
    result = replay(build_spec(settings, strategy, None), series, {}, run_settings(settings, series, strategy),
                    console)
    report(settings, options, result, console)
    return result


def run_models(settings: Settings, options: BacktestOptions, series: CandleSeries, strategy: Strategy,
               console: Console) -> BacktestResult | None:
    """Strategies that trade on predictions: one backtest, a threshold sweep, or several models side by side
    on the same candles. Baselines and registered models alike (see backtest_models.prepare)."""
    from dopebot.commands import backtest_models as models

    explicit_exits = options.stop_loss is not None or options.take_profit is not None
    configured = getattr(strategy.params, "model", "champion")
    identifiers = [i.strip() for i in options.compare.split(",") if i.strip()] if options.compare else [
        options.model or configured]
    runs = [models.prepare(settings, series, identifier, explicit_exits) for identifier in identifiers]
    for model_run in runs:
        models.warn_overlap(console, model_run)
    if options.thresholds:
        if len(runs) != 1:
            raise UsageError("--thresholds sweeps one model; do not combine it with --compare")
        only = runs[0]
        rows = models.sweep(only, models.parse_thresholds(options.thresholds), lambda chosen, threshold: replay(
            build_spec(only.settings, chosen, only.model_id), series, {only.model_id: only.outputs},
            run_settings(only.settings, series, chosen) | {"model": only.model_id, "threshold": threshold}, console))
        console.print(models.comparison_table(f"{only.model_id}: entry threshold sweep", rows, first="threshold"))
        return None
    results = []
    for model_run in runs:
        chosen = models.strategy_for(model_run.settings, model_run)
        info = run_settings(model_run.settings, series, chosen) | {"model": model_run.model_id}
        results.append((model_run.model_id, replay(build_spec(model_run.settings, chosen, model_run.model_id),
                                                   series, {model_run.model_id: model_run.outputs}, info,
                                                   console)))
    if len(results) > 1:
        console.print(models.comparison_table("models side by side on the same candles", results))
        return None
    report(runs[0].settings, options, results[0][1], console)
    return results[0][1]


def report(settings: Settings, options: BacktestOptions, result: BacktestResult, console: Console) -> None:
    from dopebot.reports.exports import write_json_report, write_trades_csv
    from dopebot.reports.summary import summary_table
    from dopebot.trading.metrics import compute_metrics

    metrics = compute_metrics(result)
    console.print(summary_table(result, metrics))
    if result.halt_reason:
        console.print(f"[red]trading halted by the risk limit: {result.halt_reason}[/red]")
    if options.trades_out:
        console.print(f"trades: {write_trades_csv(options.trades_out, result.round_trips)}")
    if options.json_out:
        console.print(f"report: {write_json_report(options.json_out, result, metrics)}")
    if options.plot:
        from dopebot.reports.plot import write_chart

        console.print(f"chart: {write_chart(options.plot, result)}")
    if options.record:
        from dopebot.store.db import open_connection
        from dopebot.store.runs import record_backtest

        database = open_connection(settings.bot.state_file)
        try:
            run_id = record_backtest(database, result, metrics.to_dict())
        finally:
            database.close()
        console.print(f"recorded as run {run_id} in {settings.bot.state_file}")
