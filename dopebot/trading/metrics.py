"""Performance metrics of a finished backtest: pure functions, so reports, the store and tests agree.

Conventions (written once, here):
- Returns are per candle over [starting_balance, equity[0], ..., equity[-1]]: N candles give N returns, the
  first from the starting balance (equity at the first candle's open) to the first close.
- Sharpe = mean(r) / std(r, ddof=1) * sqrt(P); Sortino = mean(r) / sqrt(mean(min(r, 0)^2)) * sqrt(P), with the
  risk-free rate 0 and P = candles per year = 365.25 days / candle width (crypto trades all year). The candle
  width is the median gap between candle close times (the timeframe when there is one candle).
- CAGR compounds the total return over the calendar span: first candle's open to last candle's close.
- Max drawdown is a positive fraction (0.25 = equity fell 25 % below its running peak); its duration is from
  that peak until equity regains it, or until the last candle when it never does.
- Calmar = CAGR / max drawdown.
- Ratios are None when undefined (0/0: no trades, no variation) and inf when only the denominator is 0;
  Metrics.to_dict() writes None as JSON null and inf as the string "inf" (JSON has no infinity).
- Buy and hold runs from the first candle's close to the last close (BacktestResult carries closes only),
  so it misses the first candle's move that the strategy's total return includes.
- Fees paid is the exact sum of fill fees (the simulated broker charges them in the quote currency).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

import numpy as np

from dopebot.core.errors import DataError
from dopebot.core.timeframes import width_ms
from dopebot.core.types import RoundTrip
from dopebot.trading.result import BacktestResult

YEAR_MS = 365.25 * 86_400_000


@dataclass(frozen=True)
class Metrics:
    """Everything the summary, the JSON report and the runs table show about one backtest."""

    start_time: int  # first candle's close, ms
    end_time: int  # last candle's close, ms
    candles: int
    candle_ms: int
    starting_balance: Decimal
    final_equity: Decimal
    total_return: float
    cagr: float
    sharpe: float | None
    sortino: float | None
    max_drawdown: float
    max_drawdown_duration_ms: int
    calmar: float | None
    trades: int
    win_rate: float | None
    profit_factor: float | None
    average_trade_pnl: Decimal | None
    average_trade_pct: float | None
    best_trade_pnl: Decimal | None
    worst_trade_pnl: Decimal | None
    best_trade_pct: float | None
    worst_trade_pct: float | None
    exposure: float
    fees_paid: Decimal
    buy_and_hold_return: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: Decimals as strings, inf as "inf", undefined as None."""
        return {key: _jsonable(value) for key, value in asdict(self).items()}


def compute_metrics(result: BacktestResult) -> Metrics:
    """All metrics of one backtest; the full per-candle curve is used, never a downsampled one."""
    if result.candles == 0:
        raise DataError(f"run {result.run_id}: no candles, nothing to measure")
    times = np.asarray(result.time, dtype=np.int64)
    equity = np.asarray(result.equity, dtype=np.float64)
    candle = candle_width_ms(times, result.timeframe)
    curve = np.concatenate(([float(result.starting_balance)], equity))
    curve_times = np.concatenate(([times[0] - candle], times))
    returns = curve[1:] / curve[:-1] - 1.0
    per_year = YEAR_MS / candle
    total = float(result.final_equity / result.starting_balance) - 1.0
    growth = cagr(total, int(curve_times[-1] - curve_times[0]))
    drawdown, duration = max_drawdown(curve, curve_times)
    trips = result.round_trips
    closes = np.asarray(result.close, dtype=np.float64)
    return Metrics(
        start_time=int(times[0]), end_time=int(times[-1]), candles=result.candles, candle_ms=candle,
        starting_balance=result.starting_balance, final_equity=result.final_equity,
        total_return=total, cagr=growth, sharpe=sharpe_ratio(returns, per_year),
        sortino=sortino_ratio(returns, per_year), max_drawdown=drawdown, max_drawdown_duration_ms=duration,
        calmar=ratio(growth, drawdown), trades=len(trips), win_rate=win_rate(trips),
        profit_factor=profit_factor(trips), average_trade_pnl=_mean_decimal([t.pnl for t in trips]),
        average_trade_pct=_mean_float([t.return_pct for t in trips]),
        best_trade_pnl=max((t.pnl for t in trips), default=None),
        worst_trade_pnl=min((t.pnl for t in trips), default=None),
        best_trade_pct=max((t.return_pct for t in trips), default=None),
        worst_trade_pct=min((t.return_pct for t in trips), default=None),
        exposure=float(np.mean(np.asarray(result.position) != 0)), fees_paid=result.fees_paid,
        buy_and_hold_return=float(closes[-1] / closes[0] - 1.0),
    )


def candle_width_ms(times: np.ndarray, timeframe: str) -> int:
    """Median gap between close times, so gaps in the data do not distort annualisation."""
    if len(times) < 2:
        return width_ms(timeframe)
    return int(np.median(np.diff(times)))


def cagr(total_return: float, span_ms: int) -> float:
    """Compound annual growth over span_ms; -1 when everything was lost, inf when the number overflows."""
    if total_return <= -1.0:
        return -1.0
    if span_ms <= 0:
        return 0.0
    try:
        return math.exp(math.log1p(total_return) * YEAR_MS / span_ms) - 1.0
    except OverflowError:
        return math.inf


def sharpe_ratio(returns: np.ndarray, periods_per_year: float) -> float | None:
    if len(returns) < 2:
        return None
    deviation = float(np.std(returns, ddof=1))
    return ratio(float(np.mean(returns)), deviation, math.sqrt(periods_per_year))


def sortino_ratio(returns: np.ndarray, periods_per_year: float) -> float | None:
    if len(returns) == 0:
        return None
    downside = math.sqrt(float(np.mean(np.minimum(returns, 0.0) ** 2)))
    return ratio(float(np.mean(returns)), downside, math.sqrt(periods_per_year))


def max_drawdown(curve: np.ndarray, times: np.ndarray) -> tuple[float, int]:
    """(deepest fall below the running peak as a fraction, ms from that peak to recovery or the end)."""
    peaks = np.maximum.accumulate(curve)
    drawdowns = 1.0 - curve / peaks
    trough = int(np.argmax(drawdowns))
    depth = float(drawdowns[trough])
    if depth <= 0.0:
        return 0.0, 0
    peak = int(np.flatnonzero(curve[: trough + 1] == peaks[trough])[-1])
    recovered = np.flatnonzero(curve[trough:] >= peaks[trough])
    end = trough + int(recovered[0]) if len(recovered) else len(curve) - 1
    return depth, int(times[end] - times[peak])


def win_rate(trips: list[RoundTrip]) -> float | None:
    if not trips:
        return None
    return sum(1 for trip in trips if trip.pnl > 0) / len(trips)


def profit_factor(trips: list[RoundTrip]) -> float | None:
    """Gross profit / gross loss, summed exactly; inf with no losing trade, None with no trades."""
    gains = sum((trip.pnl for trip in trips if trip.pnl > 0), Decimal(0))
    losses = -sum((trip.pnl for trip in trips if trip.pnl < 0), Decimal(0))
    return ratio(float(gains), float(losses))


def ratio(numerator: float, denominator: float, scale: float = 1.0) -> float | None:
    """numerator / denominator * scale; inf (signed) when only the denominator is 0, None for 0 / 0."""
    if denominator > 0:
        return numerator / denominator * scale
    if numerator == 0:
        return None
    return math.copysign(math.inf, numerator)


def _mean_decimal(values: list[Decimal]) -> Decimal | None:
    return sum(values, Decimal(0)) / len(values) if values else None


def _mean_float(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value
