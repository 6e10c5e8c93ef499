"""The emulator speaks enough Binance spot REST for the real ccxt: markets, klines, time, tickers, a
catch-all 404, a request log, and fault switches that make ccxt raise what the real exchange would."""

from __future__ import annotations

import time
from typing import Any

import aiohttp
import ccxt
import pytest

from dopebot.core.clock import WallClock
from dopebot.core.config import ExchangeSettings
from dopebot.core.errors import UsageError
from dopebot.emulator import EmulatorServer, MarketData
from dopebot.feeds.exchange import local_api_urls, make_exchange
from tests.emulator_support import BTC_ROWS, MINUTE, T0, generated_market, local_exchange

pytest_plugins = ["tests.emulator_fixtures"]  # fixtures: emulator (per module), emu (reset per test), exchange

KLINES = "/api/v3/klines"


async def get_json(url: str, path: str, **query: Any) -> tuple[int, Any, dict[str, str]]:
    async with aiohttp.ClientSession() as session, session.get(url + path, params=query) as response:
        return response.status, await response.json(content_type=None), dict(response.headers)


async def test_load_markets_reads_filters_and_touches_only_exchange_info(emu: EmulatorServer,
                                                                        exchange: Any) -> None:
    markets = await exchange.load_markets()
    assert sorted(markets) == ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
    btc, eth, sol = markets["BTC/USDT"], markets["ETH/USDT"], markets["SOL/USDT"]
    assert (btc["id"], btc["spot"], btc["precision"]["price"], btc["precision"]["amount"]) == (
        "BTCUSDT", True, 0.01, 0.00001)
    assert (btc["limits"]["amount"]["min"], btc["limits"]["cost"]["min"]) == (0.00001, 5.0)
    assert (eth["precision"]["amount"], eth["limits"]["amount"]["min"], eth["limits"]["cost"]["min"]) == (
        0.0001, 0.0001, 10.0)
    assert sol["precision"]["price"] == 0.001
    assert [(r.method, r.path, r.status) for r in emu.requests] == [("GET", "/api/v3/exchangeInfo", 200)]


async def test_klines_follow_binance_window_semantics(emu: EmulatorServer) -> None:
    source = generated_market().frame("BTC/USDT")
    status, rows, _ = await get_json(emu.url, KLINES, symbol="BTCUSDT", interval="1m",
                                     startTime=T0 + 10 * MINUTE, endTime=T0 + 20 * MINUTE)
    assert status == 200 and len(rows) == 11  # both ends inclusive
    first = rows[0]
    assert len(first) == 12 and first[0] == T0 + 10 * MINUTE and first[6] == T0 + 11 * MINUTE - 1
    assert all(isinstance(value, str) for value in first[1:6])
    assert [float(v) for v in first[1:6]] == source.iloc[10, 1:].tolist()
    assert rows[-1][0] == T0 + 20 * MINUTE
    assert len((await get_json(emu.url, KLINES, symbol="BTCUSDT", interval="1m", startTime=T0))[1]) == 500
    capped = (await get_json(emu.url, KLINES, symbol="BTCUSDT", interval="1m", startTime=T0, limit=5000))[1]
    assert len(capped) == 1000 and capped[-1][0] == T0 + 999 * MINUTE
    before = (await get_json(emu.url, KLINES, symbol="BTCUSDT", interval="1m", endTime=T0 + 2000 * MINUTE,
                             limit=10))[1]
    assert [row[0] for row in before] == [T0 + m * MINUTE for m in range(1991, 2001)]
    latest = (await get_json(emu.url, KLINES, symbol="BTCUSDT", interval="1m"))[1]
    assert len(latest) == 500 and latest[-1][0] == T0 + (BTC_ROWS - 1) * MINUTE


@pytest.mark.parametrize(("query", "code"), [
    ({"symbol": "NOPEUSDT", "interval": "1m"}, -1121),
    ({"symbol": "BTCUSDT", "interval": "7m"}, -1120),
    ({"symbol": "BTCUSDT", "interval": "5m"}, -1120),  # a real interval the data is not stored in
    ({"symbol": "BTCUSDT", "interval": "1m", "startTime": "soon"}, -1100),
    ({"symbol": "BTCUSDT", "interval": "1m", "startTime": T0 + MINUTE, "endTime": T0}, -1023),
])
async def test_bad_kline_queries_get_binance_error_codes(emu: EmulatorServer, query: dict[str, Any],
                                                         code: int) -> None:
    status, body, _ = await get_json(emu.url, KLINES, **query)
    assert (status, body["code"]) == (400, code)


async def test_ccxt_fetch_ohlcv_returns_the_source_values_exactly(exchange: Any) -> None:
    source = generated_market().frame("ETH/USDT")
    rows = await exchange.fetch_ohlcv("ETH/USDT", "1m", since=T0 + 5 * MINUTE, limit=1000)
    assert len(rows) == 1000
    assert rows == [[int(r[0]), *r[1:]] for r in source.iloc[5:1005].itertuples(index=False)]


async def test_time_and_tickers(emu: EmulatorServer, exchange: Any) -> None:
    before = WallClock().now_ms()
    server_time = await exchange.fetch_time()
    assert before - 1_000 <= server_time <= WallClock().now_ms() + 1_000
    source = generated_market().frame("BTC/USDT")
    last_day = source.iloc[-1440:]
    ticker = await exchange.fetch_ticker("BTC/USDT")
    assert ticker["last"] == source["close"].iloc[-1]
    assert (ticker["high"], ticker["low"]) == (last_day["high"].max(), last_day["low"].min())
    assert ticker["baseVolume"] == pytest.approx(last_day["volume"].sum())
    status, prices, _ = await get_json(emu.url, "/api/v3/ticker/price")
    assert status == 200 and [p["symbol"] for p in prices] == ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
    assert float(prices[0]["price"]) == source["close"].iloc[-1]
    status, body, _ = await get_json(emu.url, "/api/v3/ticker/24hr", symbol="NOPEUSDT")
    assert (status, body["code"]) == (400, -1121)


async def test_unrouted_requests_are_404_and_logged(emu: EmulatorServer, exchange: Any) -> None:
    with pytest.raises(ccxt.BaseError):
        await exchange.fetch_trades("BTC/USDT")  # /api/v3/aggTrades is not emulated (yet)
    status, body, _ = await get_json(emu.url, "/sapi/v1/capital/config/getall")
    assert (status, body["code"]) == (404, -1000)
    assert [(r.path, r.status) for r in emu.requests if r.status == 404] == [
        ("/api/v3/aggTrades", 404), ("/sapi/v1/capital/config/getall", 404)]


async def test_rate_limit_fault_sends_429_with_retry_after_then_recovers(emu: EmulatorServer,
                                                                         exchange: Any) -> None:
    await exchange.load_markets()
    emu.faults.rate_limit(2, retry_after=3, path=KLINES, after=1)
    assert len(await exchange.fetch_ohlcv("BTC/USDT", "1m", since=T0, limit=5)) == 5
    status, body, headers = await get_json(emu.url, KLINES, symbol="BTCUSDT", interval="1m")
    assert (status, body["code"], headers["Retry-After"]) == (429, -1003, "3")
    with pytest.raises(ccxt.DDoSProtection):
        await exchange.fetch_ohlcv("BTC/USDT", "1m", since=T0, limit=5)
    assert exchange.last_response_headers["Retry-After"] == "3"
    assert len(await exchange.fetch_ohlcv("BTC/USDT", "1m", since=T0, limit=5)) == 5
    assert emu.faults.pending == 0
    assert [r.status for r in emu.requests_to(KLINES)] == [200, 429, 429, 200]


async def test_outage_fault_raises_exchange_not_available(emu: EmulatorServer, exchange: Any) -> None:
    await exchange.load_markets()
    emu.faults.unavailable(1, status=503)
    with pytest.raises(ccxt.ExchangeNotAvailable):
        await exchange.fetch_ohlcv("BTC/USDT", "1m", since=T0, limit=5)
    assert len(await exchange.fetch_ohlcv("BTC/USDT", "1m", since=T0, limit=5)) == 5
    assert [r.status for r in emu.requests_to(KLINES)] == [503, 200]


async def test_malformed_fault_makes_ccxt_return_junk_rows(emu: EmulatorServer, exchange: Any) -> None:
    """The pitfall the downloader guards against: ccxt does not raise on a broken 200 body."""
    await exchange.load_markets()
    emu.faults.malformed(2, path=KLINES)
    rows = await exchange.fetch_ohlcv("BTC/USDT", "1m", limit=5)
    assert rows == [[None] * 6] * 5  # junk rows, no exception
    assert await exchange.fetch_ohlcv("BTC/USDT", "1m", since=T0, limit=5) == []  # looks like "no more data"
    assert exchange.last_json_response is None  # the only trace (make_exchange turns it on)
    assert [r.status for r in emu.requests_to(KLINES)] == [200, 200]


async def test_slow_answers_reach_the_client_timeout(emu: EmulatorServer) -> None:
    client = local_exchange(emu.url, timeout=300)
    try:
        await client.load_markets()
        emu.faults.slow(1.0, path=KLINES)
        started = time.monotonic()
        with pytest.raises(ccxt.RequestTimeout):
            await client.fetch_ohlcv("BTC/USDT", "1m", since=T0, limit=5)
        assert 0.25 <= time.monotonic() - started < 0.9
        emu.faults.set_latency(0.2)
        started = time.monotonic()
        assert len(await client.fetch_ohlcv("BTC/USDT", "1m", since=T0, limit=5)) == 5
        assert time.monotonic() - started >= 0.2
    finally:
        await client.close()


async def test_in_process_server_serves_and_then_releases_its_port() -> None:
    async with EmulatorServer(MarketData.generated("BTC/USDT", 10)) as server:
        client = local_exchange(server.url)
        try:
            rows = await client.fetch_ohlcv("BTC/USDT", "1m", since=T0)
            assert [row[0] for row in rows] == [T0 + m * MINUTE for m in range(10)]
        finally:
            await client.close()
    client = local_exchange(server.url)
    try:
        with pytest.raises(ccxt.ExchangeNotAvailable):
            await client.load_markets()
    finally:
        await client.close()


async def test_make_exchange_points_every_url_at_the_base_and_applies_settings() -> None:
    import ccxt.pro

    base = "http://127.0.0.1:9"
    client = make_exchange("binance", ExchangeSettings(timeout_ms=1_234), base_url=base)
    try:
        api = client.urls["api"]
        assert all(url.startswith(base + "/") for url in api.values() if isinstance(url, str))
        assert (api["public"], api["private"]) == (f"{base}/api/v3", f"{base}/api/v3")
        assert api["v1"] == f"{base}/api/v1"
        assert (client.timeout, client.enableRateLimit) == (1_234, True)
        assert client.options["fetchMarkets"]["types"] == ["spot"]
        assert (client.options["fetchCurrencies"], client.options["fetchMargins"]) == (False, False)
    finally:
        await client.close()
    ws = local_api_urls(ccxt.pro.binance().urls["api"], base)["ws"]
    assert ws["spot"] == "ws://127.0.0.1:9/stream/ws"
    assert all(url.startswith("ws://127.0.0.1:9/") for value in ws.values()
               for url in (value.values() if isinstance(value, dict) else [value]))
    with pytest.raises(UsageError, match="unknown exchange 'nope'"):
        make_exchange("nope", ExchangeSettings())
