"""Build the real ccxt async exchange from settings, optionally pointed at a local base URL (the emulator).

Environment: DOPEBOT_EXCHANGE_URL=http://127.0.0.1:PORT makes the CLI send every request of every API
family to that server instead of the exchange (Binance URL layout: /api/v3 and /api/v1; any other family
goes to /unrouted/<key>, so an unexpected call shows up as a 404 in the emulator's log, never on the net).
"""

from __future__ import annotations

import os
from typing import Any

from dopebot.core.config import ExchangeSettings
from dopebot.core.errors import UsageError

EXCHANGE_URL_ENV = "DOPEBOT_EXCHANGE_URL"
OPTIONS = {
    "fetchMarkets": {"types": ["spot"]},  # only spot exchangeInfo: no futures/options hosts
    "fetchCurrencies": False,  # no sapi/capital/config/getall
    "fetchMargins": False,  # no sapi/margin/*
}


def base_url_from_environment() -> str | None:
    """The local exchange URL the user or a test asked for, or None for the real exchange."""
    return os.environ.get(EXCHANGE_URL_ENV) or None


def local_api_urls(api: dict[str, Any], base_url: str) -> dict[str, Any]:
    """Every `urls['api']` entry rewritten to base_url, websocket keys included."""
    base_url = base_url.rstrip("/")
    ws_base = "ws" + base_url.removeprefix("http")
    local: dict[str, Any] = {}
    for key, value in api.items():
        if key == "ws" and isinstance(value, dict):
            local[key] = _local_ws_urls(value, f"{ws_base}/stream/ws", ws_base)
        elif key in ("public", "private"):
            local[key] = f"{base_url}/api/v3"
        elif key == "v1":
            local[key] = f"{base_url}/api/v1"
        elif isinstance(value, str):
            local[key] = f"{base_url}/unrouted/{key}"
    return local


def _local_ws_urls(ws: dict[str, Any], stream_url: str, ws_base: str) -> dict[str, Any]:
    """Market streams keep '/stream' in the path: ccxt.pro.binance decides spot vs. contract by it."""
    local: dict[str, Any] = {}
    for key, value in ws.items():
        if isinstance(value, dict):
            local[key] = {inner: f"{ws_base}/{key}/{inner}" for inner in value}
        else:
            local[key] = stream_url
    return local


def exchange_class(name: str) -> type:
    import ccxt.async_support as ccxt_async

    if name not in ccxt_async.exchanges:
        raise UsageError(f"unknown exchange {name!r}: expected a ccxt exchange id such as binance")
    return getattr(ccxt_async, name)


def make_exchange(name: str, settings: ExchangeSettings, urls_override: dict[str, Any] | None = None, *,
                  base_url: str | None = None, config: dict[str, Any] | None = None) -> Any:
    """A ccxt.async_support exchange: spot only, settings' timeout and rate limiting; close() it when done.

    urls_override is merged into urls['api']; base_url is the shortcut that points all of it at one server.
    """
    cls = exchange_class(name)
    options: dict[str, Any] = {"options": dict(OPTIONS), "timeout": settings.timeout_ms,
                               "enableRateLimit": settings.rate_limit,
                               # a broken JSON body raises nothing in ccxt; last_json_response None shows it
                               "enableLastJsonResponse": True}
    api = dict(urls_override or {})
    if base_url is not None:
        api.update(local_api_urls(cls().urls["api"], base_url))
    if api:
        options["urls"] = {"api": api}
    options.update(config or {})
    return cls(options)
