"""Candles the emulator serves, and Binance's kline query semantics over them, kept apart from HTTP so the
order book and websocket streams that come later can read the same prices."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from dopebot.core.timeframes import width_ms
from dopebot.feeds.history import COLUMNS, read_candles
from dopebot.feeds.synthetic import generate_candles

BINANCE_INTERVALS = frozenset({"1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h",
                               "1d", "3d", "1w", "1M"})
DEFAULT_LIMIT, MAX_LIMIT = 500, 1000
DAY_MS = 86_400_000


@dataclass(frozen=True)
class Listing:
    """A spot market as exchangeInfo describes it: the filters ccxt turns into precision and limits."""

    symbol: str
    tick_size: str = "0.01"
    step_size: str = "0.00001"
    min_qty: str = "0.00001"
    min_notional: str = "5"

    @property
    def base(self) -> str:
        return self.symbol.split("/")[0]

    @property
    def quote(self) -> str:
        return self.symbol.split("/")[1]

    @property
    def market_id(self) -> str:
        return self.base + self.quote


@dataclass(frozen=True)
class Series:
    """One symbol's candles in one width, as numpy columns for fast slicing."""

    listing: Listing
    interval: str
    width: int
    times: np.ndarray
    values: np.ndarray  # shape (n, 5): open, high, low, close, volume

    def window(self, start: int | None, end: int | None, limit: int, now: int) -> slice:
        """Binance klines: open time in [start, end], ascending; without start, the latest `limit`."""
        low = 0 if start is None else int(np.searchsorted(self.times, start, "left"))
        high = int(np.searchsorted(self.times, min(now, end if end is not None else now), "right"))
        if start is not None:
            return slice(low, max(low, min(high, low + limit)))
        return slice(max(low, high - limit), high)


class KlineQueryError(ValueError):
    """A klines request Binance would refuse; carries Binance's error code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


class MarketData:
    """Every listed symbol and its candles; built from Parquet files or the generated market."""

    def __init__(self) -> None:
        self._series: dict[str, Series] = {}

    def add(self, listing: Listing | str, frame: pd.DataFrame, timeframe: str) -> MarketData:
        listing = Listing(listing) if isinstance(listing, str) else listing
        frame = frame.sort_values("timestamp")
        self._series[listing.market_id] = Series(
            listing, timeframe, width_ms(timeframe), frame["timestamp"].to_numpy(dtype=np.int64),
            frame.loc[:, list(COLUMNS[1:])].to_numpy(dtype=np.float64))
        return self

    @classmethod
    def generated(cls, symbol: str, count: int, timeframe: str = "1m", **options: object) -> MarketData:
        return cls().add(symbol, generate_candles(count, width_ms(timeframe), **options), timeframe)  # type: ignore[arg-type]

    @classmethod
    def from_parquet(cls, path: str | Path, symbol: str, timeframe: str, start: int | None = None,
                     end: int | None = None) -> MarketData:
        series = read_candles(path, symbol, width_ms(timeframe), start, end)
        return cls().add(symbol, series.frame, timeframe)

    def listings(self) -> list[Listing]:
        return [series.listing for series in self._series.values()]

    def series(self, market_id: str) -> Series | None:
        return self._series.get(market_id)

    def frame(self, symbol: str) -> pd.DataFrame:
        """The served candles in the on-disk schema, for tests comparing a download with its source."""
        series = self._series[Listing(symbol).market_id]
        frame = pd.DataFrame(series.values, columns=list(COLUMNS[1:]))
        frame.insert(0, "timestamp", series.times)
        return frame

    def klines(self, market_id: str, interval: str, start: int | None, end: int | None, limit: int | None,
               now: int) -> list[list[object]]:
        series = self._series.get(market_id)
        if series is None:
            raise KlineQueryError(-1121, "Invalid symbol.")
        if interval not in BINANCE_INTERVALS:
            raise KlineQueryError(-1120, "Invalid interval.")
        if interval != series.interval:
            raise KlineQueryError(-1120, f"emulator: {market_id} is served in {series.interval} only")
        if start is not None and end is not None and start > end:
            raise KlineQueryError(-1023, "Start time is greater than end time.")
        count = DEFAULT_LIMIT if limit is None else max(1, min(limit, MAX_LIMIT))
        window = series.window(start, end, count, now)
        return [_kline_row(int(t), row, series.width)
                for t, row in zip(series.times[window], series.values[window], strict=True)]

    def last_day(self, market_id: str) -> tuple[np.ndarray, np.ndarray]:
        """Candles of the 24 hours ending with the last one, for the 24hr ticker."""
        series = self._series[market_id]
        first = int(np.searchsorted(series.times, series.times[-1] - DAY_MS, "right"))
        return series.times[first:], series.values[first:]


def _number(value: float) -> str:
    """Shortest text that parses back to the same float, so downloads equal their source exactly."""
    return repr(float(value))


def _kline_row(open_time: int, row: np.ndarray, width: int) -> list[object]:
    open_, high, low, close, volume = (float(v) for v in row)
    quote_volume = volume * close
    return [open_time, _number(open_), _number(high), _number(low), _number(close), _number(volume),
            open_time + width - 1, _number(quote_volume), 0, _number(volume / 2), _number(quote_volume / 2),
            "0"]
