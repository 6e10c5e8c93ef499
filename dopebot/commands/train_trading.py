"""Trading evaluation after training: the threshold strategy driven by out-of-fold predictions, through
the real backtest engine (fees and slippage from [backtest]), against buy-and-hold, sma_cross and random
entry (enter whenever flat, same exits) over the same out-of-sample candles. AUC says the model ranks;
only this says whether the ranking pays after costs."""

from __future__ import annotations

from typing import Any

import numpy as np
from rich.table import Table

from dopebot.commands.backtest import build_spec
from dopebot.core.config import Settings, override
from dopebot.feeds.history import CandleSeries
from dopebot.models.training import TrainOutcome
from dopebot.runtime.backtest import ModelOutputs, run_backtest
from dopebot.trading.loader import load_strategy
from dopebot.trading.result import BacktestResult


def out_of_sample(series: CandleSeries, outcome: TrainOutcome) -> tuple[CandleSeries, np.ndarray]:
    """The candles from the first test block to the end, and the OOF predictions aligned to them."""
    sample, result = outcome.sample, outcome.result
    first = int(sample.positions[result.tested].min())
    values = np.full(len(series), np.nan)
    values[sample.positions[result.tested]] = result.oof[result.tested]
    return series.slice(first), values[first:]


def _per_trade(result: BacktestResult) -> dict[str, float]:
    trips = result.round_trips
    gross = [float(t.exit_price / t.entry_price) - 1 for t in trips]
    net = [t.return_pct for t in trips]
    return {"return": float(result.final_equity / result.starting_balance) - 1, "trades": float(len(trips)),
            "gross_per_trade": float(np.mean(gross)) if trips else float("nan"),
            "net_per_trade": float(np.mean(net)) if trips else float("nan"),
            "win_rate": float(np.mean([n > 0 for n in net])) if trips else float("nan")}


def evaluate_trading(settings: Settings, series: CandleSeries, outcome: TrainOutcome) -> dict[str, dict[str, float]]:
    """Returns per strategy: total return, trades, mean gross and net return per trade, win rate."""
    label = outcome.card["label"]
    if label["kind"] != "triple_barrier" or label["barrier"] != "pct":
        return {}  # volatility barriers differ per trade; the trader's exits are fixed fractions (TODO)
    fee = label["fee"]
    settings = override(settings, "trading", take_profit=label["take_profit"] + 2 * fee,
                        stop_loss=max(label["stop_loss"] - 2 * fee, 1e-4), max_hold=int(label["horizon"]))
    oos, predictions = out_of_sample(series, outcome)
    model_id, horizon = outcome.model_id, int(label["horizon"])
    entries = {
        "lgbm_threshold": predictions,
        "random_entry": np.where(np.isnan(predictions), np.nan, 1.0),  # always "yes": enter whenever flat
    }
    report: dict[str, dict[str, float]] = {}
    for name, values in entries.items():
        threshold = outcome.card["threshold"] if name == "lgbm_threshold" else 0.5
        strategy = load_strategy("lgbm_threshold", {"threshold": threshold, "model": model_id})
        models = {model_id: ModelOutputs(model_id, values, horizon, "probability")}
        report[name] = _per_trade(run_backtest(build_spec(settings, strategy, model_id), oos, models))
    sma = load_strategy("sma_cross")
    report["sma_cross"] = _per_trade(run_backtest(build_spec(settings, sma, None), oos))
    report["buy_and_hold"] = _buy_and_hold(settings, oos)
    return report


def _buy_and_hold(settings: Settings, series: CandleSeries) -> dict[str, float]:
    cost = (1 - settings.backtest.fee) ** 2 * (1 - settings.backtest.slippage_bps / 10_000) ** 2
    gross = float(series.column("close")[-1] / series.column("open")[0]) - 1
    net = (1 + gross) * cost - 1
    return {"return": net, "trades": 1.0, "gross_per_trade": gross, "net_per_trade": net,
            "win_rate": float(net > 0)}


def trading_table(report: dict[str, dict[str, Any]]) -> Table:
    table = Table(title="out-of-sample trading (after fees and slippage)")
    for column in ("strategy", "return", "trades", "gross/trade", "net/trade", "win rate"):
        table.add_column(column, justify="left" if column == "strategy" else "right")
    for name, row in report.items():
        table.add_row(name, f"{row['return']:+.2%}", f"{int(row['trades']):,}", f"{row['gross_per_trade']:+.3%}",
                      f"{row['net_per_trade']:+.3%}", f"{row['win_rate']:.1%}")
    return table
