"""Download closed candles with ccxt's fetch_ohlcv into the local Parquet file, page by page.

Resumes from the file (only missing ranges before its first or after its last candle are fetched), flushes
atomically every few seconds and on any exit so an interrupt loses nothing, and reports gaps without
filling them: a missing candle is information, not an error."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from dopebot.core.clock import Clock, monotonic_ns
from dopebot.core.errors import UsageError
from dopebot.core.timeframes import width_ms
from dopebot.feeds.history import COLUMNS, Gap, find_gaps, read_candles, validate_frame, write_candles
from dopebot.feeds.retry import MalformedResponse, RetryPolicy, with_retries

PAGE_LIMIT = 1000  # Binance spot's maximum klines per request
FLUSH_EVERY_S = 10.0


class ProgressSink(Protocol):
    """Where download progress goes (a rich progress bar in the CLI, nothing in tests)."""

    def begin(self, symbol: str, expected: int) -> None: ...

    def advance(self, symbol: str, fetched: int) -> None: ...

    def finish(self, symbol: str) -> None:
        """The exchange had no more: what was fetched is the whole (history may start later, or end before
        --until or now), so the bar ends full rather than stuck short of the estimate."""
        ...


class NoProgress:
    def begin(self, symbol: str, expected: int) -> None:
        pass

    def advance(self, symbol: str, fetched: int) -> None:
        pass

    def finish(self, symbol: str) -> None:
        pass


@dataclass(frozen=True)
class DownloadJob:
    """One symbol to bring up to date: open times in [start, end); start None continues the file."""

    symbol: str
    timeframe: str
    start: int | None
    end: int
    path: Path


@dataclass(frozen=True)
class SymbolReport:
    symbol: str
    path: Path
    rows_written: int
    total_rows: int
    first: int | None
    last: int | None
    gaps: tuple[Gap, ...]


class CandleStore:
    """The local file plus candles fetched since the last flush; writes are atomic (write_candles)."""

    def __init__(self, path: Path, symbol: str, width: int) -> None:
        self.path = path
        self.width = width
        self.frame = read_candles(path, symbol, width).frame if path.exists() else _empty_frame()
        self.initial_rows = len(self.frame)
        self._pending: list[pd.DataFrame] = []
        self._flushed_at = monotonic_ns()

    @property
    def first(self) -> int | None:
        return int(self.frame["timestamp"].iloc[0]) if len(self.frame) else None

    @property
    def last(self) -> int | None:
        return int(self.frame["timestamp"].iloc[-1]) if len(self.frame) else None

    def add(self, page: pd.DataFrame) -> None:
        self._pending.append(page)
        if (monotonic_ns() - self._flushed_at) / 1e9 >= FLUSH_EVERY_S:
            self.flush()

    def flush(self) -> None:
        self._flushed_at = monotonic_ns()
        if not self._pending:
            return
        merged = pd.concat([self.frame, *self._pending], ignore_index=True)
        merged = merged.sort_values("timestamp").drop_duplicates("timestamp", keep="last")
        self.frame = merged.reset_index(drop=True)
        self._pending.clear()
        write_candles(self.path, self.frame)

    def report(self, symbol: str) -> SymbolReport:
        times = self.frame["timestamp"].to_numpy()
        gaps = find_gaps(times, self.width) if len(times) else ()
        return SymbolReport(symbol, self.path, len(self.frame) - self.initial_rows, len(self.frame),
                            self.first, self.last, gaps)


def _empty_frame() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="int64" if c == "timestamp" else "float64") for c in COLUMNS})


def missing_ranges(start: int, end: int, first: int | None, last: int | None,
                   width: int) -> list[tuple[int, int]]:
    """Half-open ranges still to fetch: before the file's first candle and after its last one."""
    if first is None or last is None:
        return [(start, end)] if start < end else []
    ranges = [(start, min(end, first))] if start < first else []
    tail = max(start, last + width)
    if tail < end:
        ranges.append((tail, end))
    return [(low, high) for low, high in ranges if low < high]


def rows_to_frame(rows: Any, width: int, source: str) -> pd.DataFrame:
    """ccxt's OHLCV rows -> candles; junk (e.g. from a broken JSON body) raises instead of becoming rows."""
    if not isinstance(rows, list):
        raise MalformedResponse(f"{source}: malformed klines answer ({type(rows).__name__}, not a list)")
    if not rows:
        return _empty_frame()
    try:
        values = np.array([row[:6] for row in rows], dtype=np.float64)
    except (TypeError, ValueError, IndexError):
        raise MalformedResponse(f"{source}: malformed klines answer (rows are not numbers)") from None
    bad = ~np.isfinite(values).all(axis=1) if values.ndim == 2 and values.shape[1] == 6 else np.ones(1, bool)
    if bad.any():
        row = int(np.argmax(bad))
        raise MalformedResponse(f"{source}: malformed klines answer (row {row} is {rows[row]!r})")
    frame = pd.DataFrame(values[:, 1:], columns=list(COLUMNS[1:]))
    frame.insert(0, "timestamp", values[:, 0].astype(np.int64))
    validate_frame(frame, width, source)
    return frame


async def check_markets(exchange: Any, symbols: list[str], timeframe: str, policy: RetryPolicy) -> None:
    """Load markets and refuse unknown symbols or widths before any download starts."""

    async def load() -> dict[str, Any]:
        markets = await exchange.load_markets(True)
        if not markets:
            raise MalformedResponse("empty or malformed market list")
        return markets

    markets = await with_retries(load, exchange, f"{exchange.id} load markets", policy)
    timeframes = getattr(exchange, "timeframes", None) or {}
    if timeframe not in timeframes:
        offered = ", ".join(timeframes) or "none"
        raise UsageError(f"{exchange.id} has no {timeframe} candles (it offers: {offered})")
    unknown = [symbol for symbol in symbols if symbol not in markets]
    if unknown:
        raise UsageError(f"{exchange.id} has no market {', '.join(unknown)} (symbols look like BTC/USDT)")


async def download_symbol(exchange: Any, job: DownloadJob, clock: Clock, *,
                          progress: ProgressSink | None = None, policy: RetryPolicy | None = None,
                          page_limit: int = PAGE_LIMIT) -> SymbolReport:
    """Fetch every missing closed candle of one symbol into job.path and report what the file holds."""
    progress = progress or NoProgress()
    policy = policy or RetryPolicy()
    width = width_ms(job.timeframe)
    store = CandleStore(job.path, job.symbol, width)
    start = job.start if job.start is not None else store.first
    if start is None:
        raise UsageError(f"{job.symbol}: no local file at {job.path}, give --since for the first download")
    ranges = missing_ranges(start, job.end, store.first, store.last, width)
    progress.begin(job.symbol, sum(math.ceil((high - low) / width) for low, high in ranges))
    try:
        for low, high in ranges:
            await _fetch_range(exchange, job, store, low, high, clock, progress, policy, page_limit)
        progress.finish(job.symbol)
    finally:
        store.flush()
    return store.report(job.symbol)


async def _fetch_range(exchange: Any, job: DownloadJob, store: CandleStore, low: int, high: int, clock: Clock,
                       progress: ProgressSink, policy: RetryPolicy, page_limit: int) -> None:
    width = store.width
    what = f"{exchange.id} {job.symbol} {job.timeframe}"
    cursor = low
    while cursor < high:

        async def page(since: int = cursor) -> pd.DataFrame:
            rows = await exchange.fetch_ohlcv(job.symbol, job.timeframe, since=since, limit=page_limit,
                                              params={"until": high - 1})
            if exchange.enableLastJsonResponse and exchange.last_json_response is None:
                # ccxt turns a broken body into [] when `since` is given: it would pass for "no more data"
                raise MalformedResponse(f"{what}: malformed klines answer (not JSON)")
            return rows_to_frame(rows, width, what)

        frame = await with_retries(page, exchange, what, policy)
        times = frame["timestamp"].to_numpy()
        frame = frame[(times >= cursor) & (times < high) & (times + width <= clock.now_ms())]
        if frame.empty:  # nothing more, or only the still-open candle
            return
        store.add(frame)
        progress.advance(job.symbol, len(frame))
        cursor = int(frame["timestamp"].iloc[-1]) + width


async def download_all(exchange: Any, jobs: list[DownloadJob], clock: Clock, *,
                       progress: ProgressSink | None = None, policy: RetryPolicy | None = None,
                       page_limit: int = PAGE_LIMIT) -> list[SymbolReport]:
    """Check every symbol first (fail before downloading anything), then download one symbol at a time."""
    if not jobs:
        raise UsageError("no symbols to download")
    policy = policy or RetryPolicy()
    timeframes = {job.timeframe for job in jobs}
    if len(timeframes) != 1:
        raise UsageError("one timeframe per download")
    await check_markets(exchange, [job.symbol for job in jobs], timeframes.pop(), policy)
    return [await download_symbol(exchange, job, clock, progress=progress, policy=policy,
                                  page_limit=page_limit) for job in jobs]
