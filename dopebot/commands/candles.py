"""Which candles a command works on: `--data FILE` or `--exchange/--symbol/--timeframe` (the file `download`
wrote), cut to `--start/--end`. Shared by backtest, train and check-lookahead."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from dopebot.core.config import Settings, override
from dopebot.core.errors import UsageError
from dopebot.core.timeframes import parse_time, width_ms
from dopebot.feeds.history import CandleSeries, data_file, read_candles


@dataclass(frozen=True)
class CandleOptions:
    """The options every candle-reading command takes; None means 'take it from the settings'."""

    data: Path | None = None
    exchange: str | None = None
    symbol: str | None = None
    timeframe: str | None = None
    start: str | None = None
    end: str | None = None


_FILE_NAME = re.compile(r"^([A-Z0-9]+)_([A-Z0-9]+)(?:_[A-Z0-9]+)?-(\d+[smhdw])$")


def symbol_from_file(path: Path) -> tuple[str | None, str | None]:
    """BTC_USDT-1m.parquet -> ('BTC/USDT', '1m'): what `download` writes, so --data needs no --symbol."""
    match = _FILE_NAME.match(path.stem)
    return (f"{match.group(1)}/{match.group(2)}", match.group(3)) if match else (None, None)


def select_market(settings: Settings, data: Path | None, exchange: str | None, symbol: str | None,
                  timeframe: str | None) -> Settings:
    """Flags over config; a downloaded file's name supplies symbol and timeframe when no flag does."""
    guessed_symbol, guessed_timeframe = symbol_from_file(data) if data else (None, None)
    chosen = symbol or guessed_symbol
    return override(settings, "exchange", name=exchange, symbols=[chosen] if chosen else None,
                    timeframe=timeframe or guessed_timeframe)


def period(start: str | None, end: str | None) -> tuple[int | None, int | None]:
    first = parse_time(start, "--start") if start else None
    last = parse_time(end, "--end") if end else None
    if first is not None and last is not None and first >= last:
        raise UsageError(f"--start {start} is not before --end {end}")
    return first, last


def load_candles(settings: Settings, data: Path | None, start: str | None, end: str | None) -> CandleSeries:
    symbol, timeframe = settings.exchange.symbols[0], settings.exchange.timeframe
    path = data or data_file(settings.bot.data_dir, settings.exchange.name, symbol, timeframe)
    first, last = period(start, end)
    return read_candles(path, symbol, width_ms(timeframe), first, last)
