"""`dopebot emulator`: serve candles over Binance spot's REST protocol on 127.0.0.1 for offline dry runs
(point other dopebot commands at it with DOPEBOT_EXCHANGE_URL)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from rich.console import Console

from dopebot.core.errors import UsageError
from dopebot.core.timeframes import width_ms
from dopebot.emulator import EmulatorServer, MarketData
from dopebot.feeds.exchange import EXCHANGE_URL_ENV
from dopebot.feeds.synthetic import generate_candles


def build_market(parquet: list[str], generated: list[str], timeframe: str, candles: int) -> MarketData:
    """SYMBOL=PATH Parquet sources plus generated symbols, all in one width."""
    market = MarketData()
    for spec in parquet:
        symbol, separator, path = spec.partition("=")
        if not separator or "/" not in symbol:
            raise UsageError(f"--parquet {spec!r}: expected SYMBOL=PATH, like BTC/USDT=data/BTC_USDT-1m.parquet")
        source = MarketData.from_parquet(Path(path), symbol, timeframe)
        market.add(symbol, source.frame(symbol), timeframe)
    for seed, symbol in enumerate(generated, start=7):
        if "/" not in symbol:
            raise UsageError(f"--generated {symbol!r}: expected a symbol like BTC/USDT")
        market.add(symbol, generate_candles(candles, width_ms(timeframe), seed=seed), timeframe)
    if not market.listings():
        raise UsageError("nothing to serve: give --parquet SYMBOL=PATH or --generated SYMBOL")
    return market


async def _serve(market: MarketData, port: int, console: Console) -> None:
    async with EmulatorServer(market, port=port) as server:
        symbols = ", ".join(listing.symbol for listing in market.listings())
        console.print(f"emulator serving {symbols} at {server.url}")
        console.print(f"use it with: {EXCHANGE_URL_ENV}={server.url} dopebot download ...  (Ctrl-C stops)")
        await asyncio.Event().wait()


def run(*, parquet: list[str], generated: list[str], timeframe: str, candles: int, port: int) -> None:
    market = build_market(parquet, generated, timeframe, candles)
    try:
        asyncio.run(_serve(market, port, Console()))
    except OSError as error:
        raise UsageError(f"cannot listen on 127.0.0.1:{port}: {error.strerror or error}") from None
