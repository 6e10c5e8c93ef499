"""Run the emulator on its own event loop in a background thread, for synchronous tests and the CLI
(a subprocess `dopebot download` needs a server that keeps answering while the test blocks)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from dopebot.emulator.market_data import MarketData
from dopebot.emulator.server import EmulatorServer

START_TIMEOUT_S = 10.0


@contextmanager
def running_emulator(market: MarketData, **options: object) -> Iterator[EmulatorServer]:
    """Yield a started EmulatorServer served by a daemon thread; stop it and join the thread on exit."""
    server = EmulatorServer(market, **options)  # type: ignore[arg-type]
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="dopebot-emulator", daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(server.start(), loop).result(START_TIMEOUT_S)
        yield server
    finally:
        try:
            asyncio.run_coroutine_threadsafe(server.stop(), loop).result(START_TIMEOUT_S)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(START_TIMEOUT_S)
            loop.close()
