"""sma_cross on a full year of real BTC/USDT 1m candles against an independent vectorised computation:
same trades (times and prices) and the same final equity to the cent."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import numpy as np
import pandas as pd
import pytest

from dopebot.core.timeframes import parse_time
from dopebot.core.types import Market
from dopebot.execution.simulated import FillModel
from dopebot.feeds.history import read_candles
from dopebot.runtime.backtest import run_backtest
from dopebot.runtime.node import NodeSpec
from dopebot.trading.loader import load_strategy
from dopebot.trading.trader import TraderConfig
from tests.paths import shared_file

STAKE = Decimal(10_000)
FEE = Decimal("0.001")
STEP = Decimal("0.00001")
CENT = Decimal("0.00000001")


def reference_crossings(close: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indexes of candles where SMA20 crosses above / below SMA50, on integer cents (prices are on a 0.01 tick)."""
    cents = pd.Series(np.rint(close * 100).astype(np.int64))
    sma_fast_times_1000 = cents.rolling(20).sum() * 50  # compare 50*sum20 with 20*sum50: both are 1000*SMA
    sma_slow_times_1000 = cents.rolling(50).sum() * 20
    above = (sma_fast_times_1000 > sma_slow_times_1000).to_numpy()
    below = (sma_fast_times_1000 < sma_slow_times_1000).to_numpy()
    valid = sma_slow_times_1000.notna().to_numpy()
    previous_valid = np.concatenate([[False], valid[:-1]])
    up = above & np.concatenate([[False], ~above[:-1]]) & previous_valid
    down = below & np.concatenate([[False], ~below[:-1]]) & previous_valid
    return np.flatnonzero(up), np.flatnonzero(down)


def reference_trades(frame: pd.DataFrame) -> tuple[list[tuple[int, int, Decimal, Decimal]], Decimal]:
    """Walk the crossing events (not the candles): enter on an up-cross when flat, exit on a down-cross when
    long, both at the next candle's open; a signal on the last candle never fills."""
    opens = frame["open"].to_numpy()
    times = frame["timestamp"].to_numpy()
    up, down = reference_crossings(frame["close"].to_numpy())
    events = sorted([(int(i), "up") for i in up] + [(int(i), "down") for i in down])
    cash, trades, position = Decimal(1_000_000), [], None
    for index, kind in events:
        if index + 1 >= len(frame):
            break
        price = Decimal(f"{opens[index + 1]:.2f}")
        if kind == "up" and position is None:
            amount = (STAKE / price).quantize(STEP, rounding=ROUND_FLOOR)
            fee = (amount * price * FEE).quantize(CENT, rounding=ROUND_CEILING)
            cash -= amount * price + fee
            position = (int(times[index + 1]), price, amount)
        elif kind == "down" and position is not None:
            entry_time, entry_price, amount = position
            fee = (amount * price * FEE).quantize(CENT, rounding=ROUND_CEILING)
            cash += amount * price - fee
            trades.append((entry_time, int(times[index + 1]), entry_price, price))
            position = None
    if position is not None:
        cash += position[2] * Decimal(f"{frame['close'].to_numpy()[-1]:.2f}")
    return trades, cash


@pytest.fixture(scope="module")
def year_2024():
    return read_candles(shared_file("BTC_USDT-1m.parquet"), "BTC/USDT", 60_000,
                        parse_time("2024-01-01"), parse_time("2025-01-01"))


def test_sma_cross_2024_matches_independent_computation(year_2024) -> None:
    assert len(year_2024) == 527_040 and not year_2024.gaps
    spec = NodeSpec(Market.spot("BTC/USDT", "0.01", "0.00001"), "1m", load_strategy("sma_cross"),
                    TraderConfig(stake_amount=STAKE), Decimal(1_000_000), FillModel(FEE, Decimal(0)))
    result = run_backtest(spec, year_2024)
    expected_trades, expected_equity = reference_trades(year_2024.frame)

    got = [(t.entry_time, t.exit_time, t.entry_price, t.exit_price) for t in result.round_trips]
    assert len(got) == len(expected_trades) > 1000
    assert got == expected_trades
    assert result.final_equity.quantize(Decimal("0.01")) == expected_equity.quantize(Decimal("0.01"))
    assert result.final_equity == expected_equity  # in fact exact, not only to the cent
    assert result.bus_errors == 0
    # fees: 0.1 % of each fill's notional, rounded up to 1e-8, and the total the report shows
    for fill in result.fills:
        assert fill.fee == (fill.price * fill.amount * FEE).quantize(CENT, rounding=ROUND_CEILING)
        assert fill.fee_currency == "USDT"
    assert result.fees_paid == sum((f.fee for f in result.fills), Decimal(0)) > 0
