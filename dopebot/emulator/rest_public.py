"""Binance spot public REST endpoints: what ccxt's load_markets, fetch_ohlcv, fetch_time and fetch_ticker
call. Signed order endpoints will live beside this module, not in it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from aiohttp import web

from dopebot.emulator.market_data import KlineQueryError, Listing, MarketData

if TYPE_CHECKING:
    from dopebot.core.clock import Clock


def binance_error(status: int, code: int, message: str) -> web.Response:
    """Binance's error body: ccxt picks the exception class from `code`, not from the HTTP status."""
    return web.json_response({"code": code, "msg": message}, status=status)


def _symbol_info(listing: Listing) -> dict[str, object]:
    return {
        "symbol": listing.market_id, "status": "TRADING", "baseAsset": listing.base, "baseAssetPrecision": 8,
        "quoteAsset": listing.quote, "quotePrecision": 8, "quoteAssetPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
        "icebergAllowed": True, "ocoAllowed": True, "quoteOrderQtyMarketAllowed": True,
        "isSpotTradingAllowed": True, "isMarginTradingAllowed": False,
        "permissions": [], "permissionSets": [["SPOT"]],
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": listing.tick_size, "maxPrice": "1000000.00",
             "tickSize": listing.tick_size},
            {"filterType": "LOT_SIZE", "minQty": listing.min_qty, "maxQty": "9000.00000",
             "stepSize": listing.step_size},
            {"filterType": "NOTIONAL", "minNotional": listing.min_notional, "applyMinToMarket": True,
             "maxNotional": "9000000.00", "applyMaxToMarket": False, "avgPriceMins": 5},
        ],
    }


def _optional_int(request: web.Request, name: str) -> int | None:
    text = request.query.get(name)
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        raise KlineQueryError(-1100, f"Illegal characters found in parameter '{name}'.") from None


class PublicRoutes:
    """Handlers bound to one market and clock (state on the instance, never on the module)."""

    def __init__(self, market: MarketData, clock: Clock) -> None:
        self.market = market
        self.clock = clock

    def register(self, router: web.UrlDispatcher) -> None:
        router.add_get("/api/v3/ping", self.ping)
        router.add_get("/api/v3/time", self.time)
        router.add_get("/api/v3/exchangeInfo", self.exchange_info)
        router.add_get("/api/v3/klines", self.klines)
        router.add_get("/api/v3/ticker/price", self.ticker_price)
        router.add_get("/api/v3/ticker/24hr", self.ticker_24hr)

    async def ping(self, request: web.Request) -> web.Response:
        return web.json_response({})

    async def time(self, request: web.Request) -> web.Response:
        return web.json_response({"serverTime": self.clock.now_ms()})

    async def exchange_info(self, request: web.Request) -> web.Response:
        return web.json_response({
            "timezone": "UTC", "serverTime": self.clock.now_ms(), "rateLimits": [], "exchangeFilters": [],
            "symbols": [_symbol_info(listing) for listing in self.market.listings()]})

    async def klines(self, request: web.Request) -> web.Response:
        query = request.query
        if "symbol" not in query or "interval" not in query:
            return binance_error(400, -1102, "Mandatory parameter 'symbol' or 'interval' was not sent.")
        try:
            start, end = _optional_int(request, "startTime"), _optional_int(request, "endTime")
            limit = _optional_int(request, "limit")
            now = self.clock.now_ms()
            rows = self.market.klines(query["symbol"], query["interval"], start, end, limit, now)
        except KlineQueryError as error:
            return binance_error(400, error.code, str(error))
        return web.json_response(rows)

    async def ticker_price(self, request: web.Request) -> web.Response:
        return self._per_symbol(request, self._price)

    async def ticker_24hr(self, request: web.Request) -> web.Response:
        return self._per_symbol(request, self._day)

    def _per_symbol(self, request: web.Request, build: Callable[[str], dict[str, object]]) -> web.Response:
        market_id = request.query.get("symbol")
        if market_id is None:
            return web.json_response([build(listing.market_id) for listing in self.market.listings()])
        if self.market.series(market_id) is None:
            return binance_error(400, -1121, "Invalid symbol.")
        return web.json_response(build(market_id))

    def _price(self, market_id: str) -> dict[str, object]:
        series = self.market.series(market_id)
        assert series is not None
        return {"symbol": market_id, "price": repr(float(series.values[-1, 3]))}

    def _day(self, market_id: str) -> dict[str, object]:
        times, values = self.market.last_day(market_id)
        first_open, last_close = float(values[0, 0]), float(values[-1, 3])
        volume = float(values[:, 4].sum())
        quote_volume = float((values[:, 4] * values[:, 3]).sum())
        series = self.market.series(market_id)
        assert series is not None
        return {
            "symbol": market_id, "priceChange": repr(last_close - first_open),
            "priceChangePercent": repr(round((last_close / first_open - 1) * 100, 3)),
            "weightedAvgPrice": repr(quote_volume / volume if volume else last_close),
            "prevClosePrice": repr(first_open), "lastPrice": repr(last_close), "lastQty": "0",
            "bidPrice": repr(last_close), "bidQty": "1", "askPrice": repr(last_close), "askQty": "1",
            "openPrice": repr(first_open), "highPrice": repr(float(values[:, 1].max())),
            "lowPrice": repr(float(values[:, 2].min())), "volume": repr(volume),
            "quoteVolume": repr(quote_volume),
            "openTime": int(times[0]), "closeTime": int(times[-1]) + series.width - 1,
            "firstId": -1, "lastId": -1, "count": 0,
        }
