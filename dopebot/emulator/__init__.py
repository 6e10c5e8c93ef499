"""A local exchange that speaks Binance spot's own REST protocol, so the real ccxt can be tested offline.

    market = MarketData.generated("BTC/USDT", count=5_000)
    async with EmulatorServer(market) as emulator:      # in-process, for async tests
        ...emulator.url, emulator.faults, emulator.requests
    with running_emulator(market) as emulator:          # background thread, for sync tests and the CLI
        ...
"""

from dopebot.emulator.faults import Faults
from dopebot.emulator.market_data import Listing, MarketData
from dopebot.emulator.server import EmulatorServer, RequestRecord
from dopebot.emulator.thread import running_emulator

__all__ = ["EmulatorServer", "Faults", "Listing", "MarketData", "RequestRecord", "running_emulator"]
