"""Trading evaluation after training: the threshold strategy driven by out-of-fold predictions, through
the real backtest engine (fees and slippage from [backtest]), against buy-and-hold, sma_cross and random
entry (enter whenever flat, same exits) over the same out-of-sample candles. AUC says the model ranks;
only this says whether the ranking pays after costs.

The trader's take-profit and stop-loss are fixed fractions. For percentage barriers they are the label's
own; volatility barriers differ per row, so they are approximated by the median barrier over the training
rows that precede the out-of-sample period (widths use only past candles, and no row from the evaluated
period takes part, so no future information picks the exits). The table and the model card say which
exits were used. Engine imports happen inside the functions so `dopebot models show` can render the table
cheaply."""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from rich.table import Table

from dopebot.core.config import Settings, override
from dopebot.core.errors import DataError
from dopebot.core.timeframes import iso
from dopebot.feeds.history import CandleSeries
from dopebot.market.labels import LabelSpec, barrier_fractions

if TYPE_CHECKING:
    from dopebot.models.training import TrainOutcome
    from dopebot.trading.result import BacktestResult

STRATEGY_ORDER = ("lgbm_threshold", "random_entry", "sma_cross", "buy_and_hold")
MIN_STOP = 1e-4  # a stop must sit below the entry even when the barrier is inside the round-trip fee


@dataclass(frozen=True)
class Exits:
    """The fixed exits every evaluated strategy trades with, and the barrier widths they come from."""

    barrier: str  # the label's barrier kind: "pct" or "vol"
    take_profit: float  # trader's fraction above entry: barrier width + round-trip fee, as in the label
    stop_loss: float  # trader's fraction below entry: barrier width - round-trip fee (at least MIN_STOP)
    max_hold: int  # time exit after the label horizon, in candles
    barrier_take_profit: float  # width before fees: the label's own (pct) or the training-row median (vol)
    barrier_stop_loss: float
    rows: int  # training rows the vol medians were taken over; 0 for pct

    def note(self) -> str:
        fixed = (f"tp={self.take_profit:.2%} sl={self.stop_loss:.2%} (fees included), "
                 f"time exit after {self.max_hold} candles")
        if self.barrier == "vol":
            return (f"vol barriers approximated by fixed exits {fixed}: median barrier tp="
                    f"{self.barrier_take_profit:.2%} sl={self.barrier_stop_loss:.2%} over {self.rows:,} "
                    "training rows before the out-of-sample period")
        return f"exits at the label's barriers: {fixed}"


@dataclass(frozen=True)
class TradingEvaluation:
    """Per-strategy results over the out-of-sample candles [start, end) (open times, ms) and the exits."""

    strategies: dict[str, dict[str, float]]
    exits: Exits
    start: int
    end: int
    candles: int

    def period(self) -> dict[str, int]:
        return {"start": self.start, "end": self.end, "candles": self.candles}

    def to_card(self) -> dict[str, Any]:
        """The model card's `trading` section (also what `models show` renders)."""
        return {"strategies": self.strategies, "exits": asdict(self.exits), "period": self.period(),
                "note": self.exits.note()}


def first_test_row(outcome: TrainOutcome) -> int:
    """Candle row of the first out-of-fold prediction: everything before it is training history."""
    return int(outcome.sample.positions[outcome.result.tested].min())


def out_of_sample(series: CandleSeries, outcome: TrainOutcome) -> tuple[CandleSeries, np.ndarray]:
    """The candles from the first test block to the end, and the OOF predictions aligned to them."""
    sample, result = outcome.sample, outcome.result
    first = first_test_row(outcome)
    values = np.full(len(series), np.nan)
    values[sample.positions[result.tested]] = result.oof[result.tested]
    return series.slice(first), values[first:]


def choose_exits(label: dict[str, Any], frame: pd.DataFrame, positions: np.ndarray, first: int) -> Exits:
    """Fixed exits for a triple-barrier label; fees are handled like the label does (take-profit sits a
    round-trip fee further out, the stop a round-trip fee closer). For vol barriers the widths are the
    medians over training rows (`positions` of the sample) before candle row `first`, computed on the
    candles before `first` only."""
    fee, horizon = float(label["fee"]), int(label["horizon"])
    if label["barrier"] == "pct":
        take, stop, rows = float(label["take_profit"]), float(label["stop_loss"]), 0
    else:
        spec = LabelSpec(**{f.name: label[f.name] for f in dataclasses.fields(LabelSpec) if f.name in label})
        take_widths, stop_widths = barrier_fractions(frame.iloc[:first], spec)
        before = positions[positions < first]
        take_widths, stop_widths = take_widths[before], stop_widths[before]
        known = np.isfinite(take_widths) & np.isfinite(stop_widths)
        if not known.any():
            raise DataError("no training rows before the out-of-sample period to size the vol-barrier exits")
        take, stop = float(np.median(take_widths[known])), float(np.median(stop_widths[known]))
        rows = int(known.sum())
    return Exits(label["barrier"], take + 2 * fee, max(stop - 2 * fee, MIN_STOP), horizon, take, stop, rows)


def _per_trade(result: BacktestResult) -> dict[str, float]:
    trips = result.round_trips
    gross = [float(t.exit_price / t.entry_price) - 1 for t in trips]
    net = [t.return_pct for t in trips]
    return {"return": float(result.final_equity / result.starting_balance) - 1, "trades": float(len(trips)),
            "gross_per_trade": float(np.mean(gross)) if trips else float("nan"),
            "net_per_trade": float(np.mean(net)) if trips else float("nan"),
            "win_rate": float(np.mean([n > 0 for n in net])) if trips else float("nan")}


def evaluate_trading(settings: Settings, series: CandleSeries, outcome: TrainOutcome) -> TradingEvaluation | None:
    """Per strategy: total return, trades, mean gross and net return per trade, win rate; None for
    regression labels (no barriers to trade)."""
    from dopebot.commands.backtest import build_spec
    from dopebot.runtime.backtest import ModelOutputs, run_backtest
    from dopebot.trading.loader import load_strategy

    label = outcome.card["label"]
    if label["kind"] != "triple_barrier":
        return None
    exits = choose_exits(label, series.frame, outcome.sample.positions, first_test_row(outcome))
    settings = override(settings, "trading", take_profit=exits.take_profit, stop_loss=exits.stop_loss,
                        max_hold=exits.max_hold)
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
    times = oos.column("timestamp")
    return TradingEvaluation(report, exits, int(times[0]), int(times[-1]) + oos.width_ms, len(oos))


def _buy_and_hold(settings: Settings, series: CandleSeries) -> dict[str, float]:
    cost = (1 - settings.backtest.fee) ** 2 * (1 - settings.backtest.slippage_bps / 10_000) ** 2
    gross = float(series.column("close")[-1] / series.column("open")[0]) - 1
    net = (1 + gross) * cost - 1
    return {"return": net, "trades": 1.0, "gross_per_trade": gross, "net_per_trade": net,
            "win_rate": float(net > 0)}


def trading_table(section: dict[str, Any]) -> Table:
    """Render a card's `trading` section (TradingEvaluation.to_card()): used by train and `models show`."""
    period = section.get("period", {})
    span = (f" {iso(period['start'])[:16]} .. {iso(period['end'])[:16]} ({period['candles']:,} candles)"
            if {"start", "end", "candles"} <= period.keys() else "")
    table = Table(title=f"out-of-sample trading{span}, after fees and slippage")
    for column in ("strategy", "return", "trades", "gross/trade", "net/trade", "win rate"):
        table.add_column(column, justify="left" if column == "strategy" else "right")
    strategies = section.get("strategies", {})
    order = [name for name in STRATEGY_ORDER if name in strategies] + sorted(set(strategies) - set(STRATEGY_ORDER))
    for name in order:  # the model first, then its baselines, whatever order the card's JSON kept
        row = strategies[name]
        table.add_row(name, f"{row['return']:+.2%}", f"{int(row['trades']):,}", f"{row['gross_per_trade']:+.3%}",
                      f"{row['net_per_trade']:+.3%}", f"{row['win_rate']:.1%}")
    if section.get("note"):
        table.caption = str(section["note"])
    return table
