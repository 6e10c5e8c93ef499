"""The emulator's HTTP server: app assembly, request log, fault injection and start/stop. Endpoints live in
their own modules (rest_public now; signed orders and websockets later) and register on this app."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType

from aiohttp import web

from dopebot.core.clock import Clock, WallClock
from dopebot.emulator.faults import Fault, Faults
from dopebot.emulator.market_data import MarketData
from dopebot.emulator.rest_public import PublicRoutes, binance_error

MALFORMED_BODY = '{"symbols": ['
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class RequestRecord:
    """One request as the emulator answered it: tests assert on these, e.g. that a 429 was really sent."""

    method: str
    path: str
    query: dict[str, str]
    status: int


class EmulatorServer:
    """A Binance-spot-speaking server on 127.0.0.1 and an ephemeral port; an async context manager."""

    def __init__(self, market: MarketData, *, host: str = "127.0.0.1", port: int = 0,
                 clock: Clock | None = None) -> None:
        self.market = market
        self.host = host
        self.port = port
        self.clock = clock or WallClock()
        self.faults = Faults()
        self._log: list[RequestRecord] = []
        self._runner: web.AppRunner | None = None
        self.app = self._build_app()

    @property
    def url(self) -> str:
        """Base URL to point ccxt at (see dopebot.feeds.exchange.local_api_urls)."""
        return f"http://{self.host}:{self.port}"

    @property
    def requests(self) -> list[RequestRecord]:
        return list(self._log)

    def requests_to(self, path: str) -> list[RequestRecord]:
        return [record for record in self._log if record.path == path]

    def reset(self) -> None:
        """Forget the log and disarm every fault, so a shared server starts each test clean."""
        self._log.clear()
        self.faults.clear()

    async def start(self) -> EmulatorServer:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> EmulatorServer:
        return await self.start()

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        traceback: TracebackType | None) -> None:
        await self.stop()

    def _build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._record, self._inject_faults])
        PublicRoutes(self.market, self.clock).register(app.router)
        app.router.add_route("*", "/{tail:.*}", self._unrouted)
        return app

    @web.middleware
    async def _record(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as error:
            self._log.append(RequestRecord(request.method, request.path, dict(request.query), error.status))
            raise
        self._log.append(RequestRecord(request.method, request.path, dict(request.query), response.status))
        return response

    @web.middleware
    async def _inject_faults(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if self.faults.latency:
            await asyncio.sleep(self.faults.latency)
        fault = self.faults.take(request.path)
        if fault is None:
            return await handler(request)
        return await _misbehave(fault, request, handler)

    async def _unrouted(self, request: web.Request) -> web.Response:
        """Anything ccxt was not expected to call shows up as a 404 in the log, never as a real request."""
        return binance_error(404, -1000, f"emulator: unhandled {request.method} {request.path}")


async def _misbehave(fault: Fault, request: web.Request, handler: Handler) -> web.StreamResponse:
    if fault.kind == "delay":
        await asyncio.sleep(fault.delay)
        return await handler(request)
    if fault.kind == "malformed":
        return web.Response(status=200, text=MALFORMED_BODY, content_type="application/json")
    if fault.status in (418, 429):
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else None
        return web.json_response(
            {"code": -1003, "msg": "Too many requests; current limit is 6000 request weight per 1 MINUTE."},
            status=fault.status, headers=headers)
    return web.Response(status=fault.status, text="Service Unavailable")
