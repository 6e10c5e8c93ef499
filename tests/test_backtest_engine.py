"""The backtest engine end to end on a generated market: batch inputs equal incremental ones, the rebuilt
equity curve equals per-candle marking, protection and risk limits act as documented."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from dopebot.core import topics
from dopebot.core.types import Candle, Market, OrderReason
from dopebot.execution.simulated import FillModel
from dopebot.feeds.history import CandleSeries, validate_frame
from dopebot.feeds.synthetic import generate_candles
from dopebot.models.baselines import Momentum
from dopebot.runtime.backtest import ModelOutputs, build_node, replay, run_backtest
from dopebot.runtime.node import NodeSpec
from dopebot.trading.loader import load_strategy
from dopebot.trading.trader import TraderConfig

MARKET = Market.spot("BTC/USDT", "0.01", "0.00001", min_notional="5")


def series_of(frame: pd.DataFrame) -> CandleSeries:
    return CandleSeries.from_frame("BTC/USDT", 60_000, frame, validate_frame(frame, 60_000, "generated"))


@pytest.fixture(scope="module")
def market_series() -> CandleSeries:
    return series_of(generate_candles(20_000, seed=3))


def spec_for(strategy: str = "sma_cross", **trader: object) -> NodeSpec:
    config = TraderConfig(**({"stake_fraction": Decimal("0.5")} | trader))  # type: ignore[arg-type]
    params = {"model": "momentum"} if strategy == "threshold" else {}
    return NodeSpec(MARKET, "1m", load_strategy(strategy, params), config, Decimal(10_000),
                    FillModel(Decimal("0.001"), Decimal("2")), champion="momentum")


def momentum_outputs(series: CandleSeries) -> dict[str, ModelOutputs]:
    model = Momentum()
    values = model.batch({"close": series.column("close")})
    return {"momentum": ModelOutputs("momentum", values, model.horizon, model.kind)}


def ledger(result) -> list[tuple]:
    return [(f.order_id, f.side, f.time, f.price, f.amount, f.fee) for f in result.fills]


def test_batch_inputs_give_the_same_fills_as_incremental_inputs(market_series: CandleSeries) -> None:
    spec = spec_for(stop_loss=Decimal("0.01"), take_profit=Decimal("0.02"))
    batch = run_backtest(spec, market_series)
    incremental = run_backtest(spec, market_series, incremental=True)
    assert len(batch.fills) > 100
    assert ledger(batch) == ledger(incremental)
    assert batch.final_equity == incremental.final_equity


def test_momentum_batch_equals_incremental_on_real_shaped_data(market_series: CandleSeries) -> None:
    model = Momentum()
    batch = model.batch({"close": market_series.column("close")})
    state = model.incremental()
    incremental = np.array([state.update(Candle("X", 0, 0, 0, 0, c, 0)) for c in market_series.column("close")])
    assert np.array_equal(np.isnan(batch), np.isnan(incremental))
    ready = ~np.isnan(batch)
    assert ready.sum() == len(batch) - model.warmup
    np.testing.assert_allclose(incremental[ready], batch[ready], rtol=1e-9, atol=0)


def test_threshold_strategy_on_replayed_predictions_equals_live_model_runner(market_series: CandleSeries) -> None:
    """Replayed batch predictions and a live runner computing them per candle make the same trades."""
    from dopebot.models.runner import LiveModelRunner
    from dopebot.runtime.node import Node
    from dopebot.trading.inputs import IncrementalInputs

    spec = spec_for("threshold")
    replayed = run_backtest(spec, market_series, momentum_outputs(market_series))
    model = Momentum()
    node = build_node(spec, market_series)  # no replayed models; add a live runner instead
    live = Node(spec, node.clock, IncrementalInputs([]), [
        lambda publish: LiveModelRunner("momentum", "binance", "BTC/USDT", model.horizon, model.kind,
                                        model.incremental(), publish)])
    replay(live, market_series)
    assert len(replayed.fills) > 20
    assert ledger(replayed) == [(f.order_id, f.side, f.time, f.price, f.amount, f.fee) for f in live.portfolio.fills]


def test_rebuilt_equity_curve_equals_per_candle_marking(market_series: CandleSeries) -> None:
    spec = spec_for()
    marks: list[Decimal] = []
    held: list[float] = []
    node = build_node(spec, market_series)
    topic = topics.candles("binance", "BTC/USDT", "1m")

    def mark(candle: Candle) -> None:
        marks.append(node.portfolio.equity_point(candle.time, candle.symbol, candle.close).equity)
        held.append(float(node.portfolio.amounts["BTC/USDT"]))

    node.bus.subscribe(topic, mark)
    replay(node, market_series)
    result = run_backtest(spec, market_series)
    assert len(marks) == len(result.equity) == len(market_series)
    np.testing.assert_allclose(result.equity, np.array([float(m) for m in marks]), rtol=1e-12)
    assert marks[-1] == result.final_equity
    assert result.position.tolist() == held
    assert 0.2 < float(np.mean(result.position > 0)) < 0.8


def test_stop_loss_and_take_profit_exit_with_their_reason(market_series: CandleSeries) -> None:
    result = run_backtest(spec_for(stop_loss=Decimal("0.003"), take_profit=Decimal("0.004")), market_series)
    reasons = {trip.exit_reason for trip in result.round_trips}
    assert {OrderReason.STOP_LOSS, OrderReason.TAKE_PROFIT} <= reasons
    for trip in result.round_trips:
        if trip.exit_reason is OrderReason.STOP_LOSS:
            assert trip.exit_price <= trip.entry_price * Decimal("0.997")
        if trip.exit_reason is OrderReason.TAKE_PROFIT:
            assert trip.exit_price >= trip.entry_price * Decimal("1.004")
    # every protective order that did not fill was canceled: nothing is left resting at the end but the open one
    assert len(result.round_trips) > 50


def test_max_drawdown_halts_trading_and_exits_with_reason_risk() -> None:
    falling = generate_candles(3_000, seed=11)
    falling[["open", "high", "low", "close"]] = falling[["open", "high", "low", "close"]].mul(
        np.linspace(1.0, 0.5, len(falling)), axis=0).round(2)
    falling["high"] = falling[["open", "high", "close"]].max(axis=1)
    falling["low"] = falling[["open", "low", "close"]].min(axis=1)
    series = series_of(falling)
    spec = spec_for(stake_fraction=Decimal("1"), max_drawdown=0.02)
    node = build_node(spec, series)
    replay(node, series)
    assert node.trader.halted and "drawdown" in node.trader.halt_reason
    assert node.portfolio.round_trips[-1].exit_reason is OrderReason.RISK
    assert node.portfolio.amounts["BTC/USDT"] == 0
    halted_at = node.portfolio.round_trips[-1].exit_time
    assert all(f.time <= halted_at for f in node.portfolio.fills)  # no entry after the halt


def test_gaps_are_seen_not_filled() -> None:
    frame = generate_candles(500, seed=5).drop(index=range(200, 230)).reset_index(drop=True)
    series = series_of(frame)
    result = run_backtest(spec_for(), series)
    assert result.candles == 470
    assert result.gaps == ["2024-01-01T03:19:00Z -> 2024-01-01T03:50:00Z (30 missing)"]


def test_time_exit_after_max_hold_candles(market_series: CandleSeries) -> None:
    result = run_backtest(spec_for("threshold", max_hold=5), market_series, momentum_outputs(market_series))
    timed = [t for t in result.round_trips if t.exit_reason is OrderReason.TIME]
    assert len(timed) > 20
    assert all(t.exit_time - t.entry_time == 5 * 60_000 for t in timed)  # in at an open, out 5 opens later
    assert all(t.exit_time - t.entry_time <= 5 * 60_000 for t in result.round_trips)


def test_fill_at_close_fills_on_the_signal_candle_close(market_series: CandleSeries) -> None:
    spec = spec_for()
    spec = NodeSpec(spec.market, spec.timeframe, spec.strategy, spec.trader, spec.starting_balance,
                    FillModel(Decimal("0.001"), Decimal(0), "close"))
    result = run_backtest(spec, market_series)
    closes = dict(zip(market_series.close_time.tolist(), market_series.column("close").tolist(), strict=True))
    assert len(result.fills) > 100
    for fill in result.fills:
        assert fill.price == Decimal(repr(closes[fill.time]))  # filled at the close of the candle it was sent on


@pytest.mark.parametrize("trader", [
    {}, {"stop_loss": Decimal("0.01"), "take_profit": Decimal("0.02")}, {"max_hold": 40},
    {"max_drawdown": 0.05},
])
def test_the_idle_fast_path_changes_nothing(market_series: CandleSeries, trader: dict, monkeypatch) -> None:
    """The trader's idle path (one strategy call per quiet candle) is an optimisation only: with it switched
    off, every candle takes the full path, and the fills and the final equity are the same."""
    spec = spec_for(**trader)
    fast = run_backtest(spec, market_series)
    from dopebot.trading.trader import Trader

    def never_idle(self: Trader) -> None:
        self._idle = False

    monkeypatch.setattr(Trader, "_settle", never_idle)
    full = run_backtest(spec, market_series)
    assert len(fast.fills) > 20
    assert ledger(fast) == ledger(full)
    assert (fast.final_equity, fast.halt_reason) == (full.final_equity, full.halt_reason)
    assert fast.round_trips == full.round_trips  # exit reasons included: signal, stop, take-profit, time, risk
