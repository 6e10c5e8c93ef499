"""The end-of-backtest summary as a rich Table, with the cost assumptions beside the numbers they shaped."""

from __future__ import annotations

import math
from typing import Any

from rich.table import Table

from dopebot.core.timeframes import iso
from dopebot.trading.metrics import Metrics
from dopebot.trading.result import BacktestResult

DAY_MS = 86_400_000


def summary_table(result: BacktestResult, metrics: Metrics) -> Table:
    """One table a person can read in a glance; `console.print(summary_table(...))` shows it."""
    table = Table(title=f"{result.strategy} on {result.symbol} {result.timeframe} ({result.venue})",
                  show_header=False, title_justify="left")
    table.add_column("metric", style="bold")
    table.add_column("value", justify="right")
    for name, value in summary_rows(result, metrics):
        table.add_row(name, value)
    table.add_section()
    for name, value in assumption_rows(result.settings):
        table.add_row(name, value, style="dim")
    return table


def summary_rows(result: BacktestResult, metrics: Metrics) -> list[tuple[str, str]]:
    first_open = metrics.start_time - metrics.candle_ms
    days = (metrics.end_time - first_open) / DAY_MS
    quote = result.quote
    return [
        ("period", f"{iso(first_open)} → {iso(metrics.end_time)} ({days:,.1f} days)"),
        ("candles", f"{metrics.candles:,}"),
        ("final equity", f"{metrics.final_equity:,.2f} {quote} (from {metrics.starting_balance:,.2f})"),
        ("total return", percent(metrics.total_return)),
        ("CAGR", percent(metrics.cagr)),
        ("Sharpe", number(metrics.sharpe)),
        ("Sortino", number(metrics.sortino)),
        ("max drawdown", f"{percent(metrics.max_drawdown)} "
                         f"(lasting {metrics.max_drawdown_duration_ms / DAY_MS:,.1f} days)"),
        ("Calmar", number(metrics.calmar)),
        ("trades", f"{metrics.trades:,}"),
        ("win rate", percent(metrics.win_rate)),
        ("profit factor", number(metrics.profit_factor)),
        ("average trade", _average_trade(metrics, quote)),
        ("exposure", percent(metrics.exposure)),
        ("fees paid", f"{metrics.fees_paid:,.2f} {quote}"),
        ("buy and hold", percent(metrics.buy_and_hold_return)),
    ]


def assumption_rows(settings: dict[str, Any]) -> list[tuple[str, str]]:
    """Fees, slippage and fill timing: results mean nothing without them."""
    rows = []
    if "fee" in settings:
        rows.append(("fee", f"{float(settings['fee']) * 100:.4g} % of notional per side"))
    if "slippage_bps" in settings:
        rows.append(("slippage", f"{float(settings['slippage_bps']):g} bps per market fill"))
    if "fill_at" in settings:
        rows.append(("fills at", str(settings["fill_at"]).replace("_", " ")))
    return rows


def percent(value: float | None) -> str:
    return _special(value) or f"{value * 100:,.2f} %"


def number(value: float | None) -> str:
    return _special(value) or f"{value:,.2f}"


def _special(value: float | None) -> str:
    """How a missing or infinite metric reads (e.g. profit factor without losing trades); "" otherwise."""
    if value is None:
        return "n/a"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    return ""


def _average_trade(metrics: Metrics, quote: str) -> str:
    if metrics.average_trade_pnl is None:
        return "n/a"
    return f"{metrics.average_trade_pnl:,.2f} {quote} ({percent(metrics.average_trade_pct)})"
