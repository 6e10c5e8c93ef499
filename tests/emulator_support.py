"""Helpers and constants for tests that drive the real ccxt against the local emulator."""

from __future__ import annotations

import asyncio
from typing import Any

from dopebot.core.config import ExchangeSettings
from dopebot.emulator import Listing, MarketData
from dopebot.feeds.exchange import make_exchange
from dopebot.feeds.retry import RetryPolicy
from dopebot.feeds.synthetic import generate_candles

MINUTE = 60_000
T0 = 1_704_067_200_000  # 2024-01-01T00:00Z, first generated candle
BTC_ROWS, ETH_ROWS, SOL_ROWS = 5_000, 3_000, 3_000
SOL_DROPPED = (list(range(100, 130)), [2_000])  # rows removed from the generated SOL market: two gaps
TEST_SETTINGS = ExchangeSettings(rate_limit=False, timeout_ms=2_000)

def generated_market() -> MarketData:
    """Three generated markets: BTC and ETH without gaps, SOL with two known holes."""
    market = MarketData.generated("BTC/USDT", BTC_ROWS, seed=7)
    eth = generate_candles(ETH_ROWS, start_price=2_000.0, seed=11)
    market.add(Listing("ETH/USDT", step_size="0.0001", min_qty="0.0001", min_notional="10"), eth, "1m")
    sol = generate_candles(SOL_ROWS, start_price=100.0, seed=13)
    dropped = [row for rows in SOL_DROPPED for row in rows]
    market.add(Listing("SOL/USDT", tick_size="0.001"), sol.drop(index=dropped), "1m")
    return market

class SleepRecorder:
    """Stands in for asyncio.sleep in the retry policy: records the waits so tests assert them exactly."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(0)

def fast_policy(recorder: SleepRecorder | None = None, attempts: int = 4) -> RetryPolicy:
    return RetryPolicy(attempts=attempts, base_delay=0.01, max_delay=0.05, sleep=recorder or SleepRecorder())

def local_exchange(url: str, **config: Any) -> Any:
    """The real ccxt binance, every URL on the emulator, no rate limiter, small timeout."""
    return make_exchange("binance", TEST_SETTINGS, base_url=url, config=config)
