"""The backtest driver: replays candles through the node on a simulated clock, in a plain loop.

Inputs known in advance (indicator values, model outputs) may be computed in batch; everything that
decides, orders, fills and accounts per candle is the node paper and live run.
"""

from __future__ import annotations

import gc
import time as wallclock
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from itertools import repeat

import numpy as np

from dopebot.core import topics
from dopebot.core.clock import ReplayClock
from dopebot.core.money import ZERO, to_decimal
from dopebot.core.types import Candle
from dopebot.feeds.history import CandleSeries
from dopebot.models.runner import RecordedPredictions
from dopebot.runtime.node import Node, NodeSpec
from dopebot.trading.inputs import IncrementalInputs, PrecomputedInputs, batch_rows
from dopebot.trading.result import BacktestResult

CHUNK = 16384  # candles per batch handed to the bus (and between progress reports)


@dataclass(frozen=True)
class ModelOutputs:
    """Predictions for every candle of the series computed in batch (NaN while warming up)."""

    model_id: str
    values: np.ndarray
    horizon: int = 1
    kind: str = "probability"


def _columns(series: CandleSeries) -> dict[str, np.ndarray]:
    return {name: series.column(name) for name in ("open", "high", "low", "close", "volume")}


def build_node(spec: NodeSpec, series: CandleSeries, models: Mapping[str, ModelOutputs] | None = None,
               incremental: bool = False) -> Node:
    """Batch inputs by default; `incremental=True` computes every indicator one candle at a time instead."""
    strategy = spec.strategy
    indicators = strategy.indicators()
    if incremental:
        inputs: IncrementalInputs | PrecomputedInputs = IncrementalInputs(indicators)
    else:
        inputs = PrecomputedInputs(batch_rows(indicators, _columns(series)))
    node = Node(spec, ReplayClock(int(series.close_time[0]) - series.width_ms), inputs)
    for output in (models or {}).values():  # RecordedPredictions checks there is one value per candle
        node.recorded.append(RecordedPredictions(output.model_id, spec.market.venue, spec.market.symbol,
                                                 output.horizon, output.kind, output.values, series.close_time))
    return node


def replay(node: Node, series: CandleSeries, progress: Callable[[int], None] | None = None) -> None:
    """The hot loop: the bus dispatches each candle; the simulated venue matches first while orders wait, and
    the replay clock reads the candle being dispatched."""
    columns = [series.column(name) for name in ("open", "high", "low", "close", "volume")]
    close_times = series.close_time
    venue = node.broker.gate
    symbol = node.spec.market.symbol
    total = len(close_times)
    collecting = gc.isenabled()
    gc.disable()  # the loop allocates one small tuple per candle and frees it; no cycles to collect
    try:
        for start in range(0, total, CHUNK):
            stop = min(start + CHUNK, total)
            # Python floats for one chunk at a time: they stay in cache and their memory is reused
            rows = zip(repeat(symbol, stop - start), close_times[start:stop].tolist(),
                       *(column[start:stop].tolist() for column in columns), strict=True)
            # tuple.__new__(Candle, row): Candle._make without its Python-level wrapper (or a partial's)
            followers = [(model.topic, model.chunk(start, stop)) for model in node.recorded]
            node.bus.publish_each(node.candle_topic, map(tuple.__new__, repeat(Candle), rows), venue, followers)
            if progress is not None:
                progress(stop)
    finally:
        if collecting:
            gc.enable()


def equity_curve(node: Node, series: CandleSeries, fill_marks: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Cash + position value at every close, rebuilt from the exact ledger (cash and holdings only change
    at fills), so the replay loop need not append one point per candle. `fill_marks` holds the simulated
    clock (the close time being processed) at each fill. Tests compare it with per-candle marking."""
    close = series.column("close")
    firsts = np.searchsorted(series.close_time, np.asarray(fill_marks, dtype=np.int64), side="left")
    cash_after = np.array([float(node.spec.starting_balance)] + [float(p.cash) for p in node.portfolio.ledger])
    held_after = np.array([0.0] + [float(amount) for amount in _holdings(node)])
    # for each candle: 1 + index of the last fill matched at or before its close (0: before any fill)
    last_fill = np.searchsorted(firsts, np.arange(len(close)), side="right")
    held = held_after[last_fill]
    return cash_after[last_fill] + held * close, held


def _holdings(node: Node) -> list[Decimal]:
    amounts, amount = [], ZERO
    for fill in node.portfolio.fills:
        amount += fill.amount if fill.side.value == "buy" else -fill.amount
        amounts.append(amount)
    return amounts


def run_backtest(spec: NodeSpec, series: CandleSeries, models: Mapping[str, ModelOutputs] | None = None,
                 progress: Callable[[int], None] | None = None, incremental: bool = False,
                 settings: dict | None = None) -> BacktestResult:
    started = wallclock.perf_counter()
    node = build_node(spec, series, models, incremental)
    fill_marks: list[int] = []
    clock = node.clock
    node.bus.subscribe(topics.fills(spec.market.venue, spec.market.symbol),
                       lambda fill: fill_marks.append(clock.now_ms()), name="backtest.fill_marks")
    replay(node, series, progress)
    equity, held = equity_curve(node, series, fill_marks)
    portfolio = node.portfolio
    last_close = to_decimal(float(series.column("close")[-1]))
    final_position = portfolio.amounts[spec.market.symbol]
    stats = node.bus.stats
    return BacktestResult(
        run_id=uuid.uuid4().hex[:12], strategy=spec.strategy.name, symbol=spec.market.symbol,
        venue=spec.market.venue, timeframe=spec.timeframe, quote=spec.market.quote, settings=settings or {},
        starting_balance=spec.starting_balance, final_cash=portfolio.cash, final_position=final_position,
        final_equity=portfolio.cash + final_position * last_close, time=series.close_time, close=series.column("close"),
        equity=equity, position=held, orders=node.orders, updates=node.updates, fills=portfolio.fills,
        round_trips=portfolio.round_trips, gaps=[str(gap) for gap in series.gaps],
        halt_reason=node.trader.halt_reason, bus_errors=stats.errors,
        first_error=stats.first_error, elapsed_seconds=wallclock.perf_counter() - started)

