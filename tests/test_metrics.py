"""Metrics against independent formulas on a tiny curve that can be checked by hand."""

from __future__ import annotations

import itertools
import json
import math
import statistics
from decimal import Decimal

import numpy as np
import pytest

from dopebot.core.errors import DataError
from dopebot.core.types import (
    Fill,
    Order,
    OrderReason,
    OrderStatus,
    OrderType,
    OrderUpdate,
    RoundTrip,
    Side,
)
from dopebot.trading.metrics import cagr, compute_metrics, max_drawdown, profit_factor, ratio
from dopebot.trading.result import BacktestResult

HOUR = 3_600_000
T0 = 1_704_067_200_000  # 2024-01-01T00:00:00Z
D = Decimal

# (entry, exit, amount, entry fee, exit fee, pnl, entry candle, exit candle)
TRADES = [
    ("100", "110", "1", "0.1", "0.11", "9.79", 1, 2),
    ("99", "95", "2", "0.198", "0.19", "-8.388", 3, 3),
    ("108.9", "121", "1", "0.1089", "0.121", "11.8701", 4, 5),
]


def hand_ledger() -> tuple[list[Order], list[OrderUpdate], list[Fill], list[RoundTrip]]:
    """Three round trips with exact Decimal fills; fills happen at candle close times."""
    orders, updates, fills, trips = [], [], [], []
    for number, (entry, exit_, amount, entry_fee, exit_fee, pnl, entry_at, exit_at) in enumerate(TRADES):
        legs = ((Side.BUY, entry, entry_fee, entry_at, OrderReason.SIGNAL),
                (Side.SELL, exit_, exit_fee, exit_at, OrderReason.TAKE_PROFIT))
        for side, price, fee, at, reason in legs:
            order_id = f"o{number}-{side}"
            time = T0 + at * HOUR
            orders.append(Order(order_id, "BTC/USDT", side, OrderType.MARKET, time, reason, amount=D(amount)))
            updates.append(OrderUpdate(order_id, "BTC/USDT", time, OrderStatus.ACCEPTED))
            updates.append(OrderUpdate(order_id, "BTC/USDT", time, OrderStatus.FILLED, D(amount), "ok"))
            fills.append(Fill(f"f{number}-{side}", order_id, "BTC/USDT", side, time, D(price), D(amount),
                              D(fee), "USDT", reason))
        trips.append(RoundTrip("BTC/USDT", T0 + entry_at * HOUR, T0 + exit_at * HOUR, D(entry), D(exit_),
                               D(amount), D(entry_fee) + D(exit_fee), D(pnl), OrderReason.TAKE_PROFIT))
    return orders, updates, fills, trips


def hand_result(**changes) -> BacktestResult:
    orders, updates, fills, trips = hand_ledger()
    fields = dict(
        run_id="run-1", strategy="sma_cross", symbol="BTC/USDT", venue="binance", timeframe="1h",
        quote="USDT",
        settings={"fee": 0.001, "slippage_bps": 2.0, "fill_at": "close", "stake_amount": 1000.0},
        starting_balance=D("1000"), final_cash=D("1210"), final_position=D("0"), final_equity=D("1210"),
        time=T0 + HOUR * np.arange(1, 6, dtype=np.int64),
        close=np.array([100.0, 110.0, 99.0, 108.9, 121.0]),
        equity=np.array([1000.0, 1100.0, 990.0, 1089.0, 1210.0]),
        position=np.array([0.0, 1.0, 1.0, 1.0, 0.0]),
        orders=orders, updates=updates, fills=fills, round_trips=trips,
        gaps=["2024-01-01T02:00:00Z: 1 candle missing"], elapsed_seconds=0.25,
    )
    fields.update(changes)
    return BacktestResult(**fields)


def test_return_cagr_and_buy_and_hold() -> None:
    metrics = compute_metrics(hand_result())
    assert metrics.total_return == pytest.approx(0.21, rel=1e-12)
    years = 5 * HOUR / (365.25 * 24 * HOUR)  # first candle's open to last close: 5 hours
    assert metrics.cagr == pytest.approx(1.21 ** (1 / years) - 1, rel=1e-9)
    assert metrics.buy_and_hold_return == pytest.approx(121 / 100 - 1, rel=1e-12)
    assert (metrics.start_time, metrics.end_time, metrics.candles, metrics.candle_ms) == (
        T0 + HOUR, T0 + 5 * HOUR, 5, HOUR)


def test_sharpe_and_sortino_match_textbook_formulas() -> None:
    metrics = compute_metrics(hand_result())
    curve = [1000, 1000, 1100, 990, 1089, 1210]  # starting balance, then each close
    returns = [b / a - 1 for a, b in itertools.pairwise(curve)]
    per_year = 365.25 * 24
    sharpe = statistics.mean(returns) / statistics.stdev(returns) * math.sqrt(per_year)
    downside = math.sqrt(sum(min(r, 0) ** 2 for r in returns) / len(returns))
    sortino = statistics.mean(returns) / downside * math.sqrt(per_year)
    assert metrics.sharpe == pytest.approx(sharpe, rel=1e-9)
    assert metrics.sortino == pytest.approx(sortino, rel=1e-9)


def test_max_drawdown_depth_duration_and_calmar() -> None:
    metrics = compute_metrics(hand_result())
    assert metrics.max_drawdown == pytest.approx(0.1, rel=1e-12)  # 1100 -> 990
    assert metrics.max_drawdown_duration_ms == 3 * HOUR  # peak at close 2, regained at close 5
    assert metrics.calmar == pytest.approx(metrics.cagr / 0.1, rel=1e-12)


def test_drawdown_never_recovered_lasts_until_the_end() -> None:
    times = np.array([0, 1, 2, 3], dtype=np.int64) * HOUR
    depth, duration = max_drawdown(np.array([100.0, 120.0, 60.0, 90.0]), times)
    assert depth == pytest.approx(0.5)
    assert duration == 2 * HOUR


def test_trade_statistics_are_exact() -> None:
    metrics = compute_metrics(hand_result())
    assert metrics.trades == 3
    assert metrics.win_rate == pytest.approx(2 / 3)
    assert metrics.profit_factor == pytest.approx((9.79 + 11.8701) / 8.388, rel=1e-12)
    assert metrics.average_trade_pnl == D("13.2721") / 3
    assert metrics.best_trade_pnl == D("11.8701")
    assert metrics.worst_trade_pnl == D("-8.388")
    assert metrics.best_trade_pct == pytest.approx(11.8701 / 108.9)
    assert metrics.worst_trade_pct == pytest.approx(-8.388 / 198)
    assert metrics.average_trade_pct == pytest.approx((9.79 / 100 - 8.388 / 198 + 11.8701 / 108.9) / 3)
    assert metrics.fees_paid == D("0.8279")
    assert metrics.exposure == pytest.approx(0.6)


def test_no_losses_gives_infinite_profit_factor_written_as_inf() -> None:
    _, _, _, trips = hand_ledger()
    metrics = compute_metrics(hand_result(round_trips=[trips[0], trips[2]]))
    assert metrics.profit_factor == math.inf
    assert json.loads(json.dumps(metrics.to_dict()))["profit_factor"] == "inf"


def test_no_trades_and_flat_equity_give_undefined_ratios() -> None:
    flat = hand_result(equity=np.full(5, 1000.0), position=np.zeros(5), round_trips=[], fills=[],
                       final_cash=D("1000"), final_equity=D("1000"))
    metrics = compute_metrics(flat)
    assert (metrics.trades, metrics.win_rate, metrics.profit_factor) == (0, None, None)
    assert (metrics.sharpe, metrics.sortino, metrics.calmar) == (None, None, None)
    assert (metrics.max_drawdown, metrics.exposure, metrics.fees_paid) == (0.0, 0.0, D(0))
    data = json.loads(json.dumps(metrics.to_dict(), allow_nan=False))
    assert data["profit_factor"] is None and data["fees_paid"] == "0"


def test_to_dict_is_json_with_decimal_strings() -> None:
    data = compute_metrics(hand_result()).to_dict()
    text = json.dumps(data, allow_nan=False)
    loaded = json.loads(text)
    assert loaded["fees_paid"] == "0.8279"
    assert D(loaded["average_trade_pnl"]) == D("13.2721") / 3
    assert loaded["starting_balance"] == "1000" and loaded["final_equity"] == "1210"


def test_candle_width_comes_from_the_data_not_the_label() -> None:
    result = hand_result(timeframe="1d")  # the label lies; the data is hourly
    assert compute_metrics(result).candle_ms == HOUR


def test_helpers_edge_cases() -> None:
    assert cagr(-1.0, HOUR) == -1.0
    assert cagr(10.0, 1) == math.inf
    assert ratio(0.0, 0.0) is None
    assert ratio(-1.0, 0.0) == -math.inf
    assert profit_factor([]) is None


def test_no_candles_is_a_data_error() -> None:
    empty = np.array([], dtype=np.int64)
    with pytest.raises(DataError):
        compute_metrics(hand_result(time=empty, close=empty.astype(float), equity=empty.astype(float),
                                    position=empty.astype(float)))
