"""Candle files on disk (Parquet, one row per candle, open time in ms): read with column-wise validation,
write atomically. Bad rows are an error naming the file and the row; gaps are reported, never filled."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from dopebot.core.errors import DataError
from dopebot.core.timeframes import iso

COLUMNS = ("timestamp", "open", "high", "low", "close", "volume")
SCHEMA = pa.schema([("timestamp", pa.int64())] + [(c, pa.float64()) for c in COLUMNS[1:]])


@dataclass(frozen=True)
class Gap:
    """Candles missing between two present ones: `after` and `before` are open times of the neighbours."""

    after: int
    before: int
    missing: int

    def __str__(self) -> str:
        return f"{iso(self.after)} -> {iso(self.before)} ({self.missing} missing)"


@dataclass(frozen=True)
class CandleSeries:
    """Validated candles for one symbol and width: numpy columns, open times in ms."""

    symbol: str
    width_ms: int
    frame: pd.DataFrame
    gaps: tuple[Gap, ...]

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def open_time(self) -> np.ndarray:
        return self.frame["timestamp"].to_numpy()

    @property
    def close_time(self) -> np.ndarray:
        return self.frame["timestamp"].to_numpy() + self.width_ms

    def column(self, name: str) -> np.ndarray:
        return self.frame[name].to_numpy()


def find_gaps(open_times: np.ndarray, width: int) -> tuple[Gap, ...]:
    steps = np.diff(open_times)
    where = np.flatnonzero(steps != width)
    return tuple(Gap(int(open_times[i]), int(open_times[i + 1]), int(steps[i] // width - 1)) for i in where)


def validate_frame(frame: pd.DataFrame, width: int, source: str) -> tuple[Gap, ...]:
    """Column-wise checks, once per file: the hot path trusts what passed here."""
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(f"{source}: missing column(s) {', '.join(missing)}")
    times = frame["timestamp"].to_numpy()

    def first(mask: np.ndarray, problem: str) -> None:
        if mask.any():
            row = int(np.argmax(mask))
            count = int(mask.sum())
            raise DataError(f"{source}: {problem} at row {row} ({iso(int(times[row]))}), {count} row(s) in all")

    for name in COLUMNS[1:]:
        first(~np.isfinite(frame[name].to_numpy(dtype=float)), f"NaN or infinite {name}")
    o, h, lo, c, v = (frame[n].to_numpy(dtype=float) for n in COLUMNS[1:])
    first((o <= 0) | (h <= 0) | (lo <= 0) | (c <= 0), "non-positive price")
    first(v < 0, "negative volume")
    first(h < lo, "high below low")
    first((o > h) | (o < lo) | (c > h) | (c < lo), "open or close outside [low, high]")
    steps = np.diff(times)
    if (steps == 0).any():
        row = int(np.argmax(steps == 0)) + 1
        raise DataError(f"{source}: duplicate timestamp {iso(int(times[row]))} at row {row}")
    if (steps < 0).any():
        row = int(np.argmax(steps < 0)) + 1
        raise DataError(f"{source}: timestamps out of order at row {row} ({iso(int(times[row]))})")
    first(times % width != 0, f"timestamp not on the {width // 1000}s grid")
    return find_gaps(times, width)


def read_candles(path: str | Path, symbol: str, width: int, start: int | None = None,
                 end: int | None = None) -> CandleSeries:
    """Load [start, end) by candle open time; raise DataError on anything the backtest cannot trust."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such candle file (download it with `dopebot download`)")
    filters = []
    if start is not None:
        filters.append(("timestamp", ">=", start))
    if end is not None:
        filters.append(("timestamp", "<", end))
    try:
        names = pq.read_schema(path).names
        missing = [c for c in COLUMNS if c not in names]
        if missing:
            raise DataError(f"{path}: missing column(s) {', '.join(missing)}")
        table = pq.read_table(path, columns=list(COLUMNS), filters=filters or None)
    except (pa.ArrowInvalid, OSError, KeyError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DataError(f"{path}: not a readable candle Parquet file ({reason})") from None
    frame = table.to_pandas()
    frame["timestamp"] = frame["timestamp"].astype("int64")
    if frame.empty:
        raise DataError(f"{path}: no candles in the requested period")
    gaps = validate_frame(frame, width, str(path))
    return CandleSeries(symbol, width, frame.reset_index(drop=True), gaps)


def write_candles(path: str | Path, frame: pd.DataFrame) -> None:
    """Write sorted, de-duplicated candles atomically (temp file + rename), so an interrupt loses nothing."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = frame.loc[:, list(COLUMNS)].astype({"timestamp": "int64", **{c: "float64" for c in COLUMNS[1:]}})
    frame = frame.sort_values("timestamp").drop_duplicates("timestamp", keep="last").reset_index(drop=True)
    table = pa.Table.from_pandas(frame, schema=SCHEMA, preserve_index=False)
    temporary = path.with_suffix(path.suffix + ".tmp")
    pq.write_table(table, temporary, compression="zstd")
    os.replace(temporary, path)


def data_file(data_dir: str | Path, exchange: str, symbol: str, timeframe: str) -> Path:
    """Where `download` writes and `backtest --exchange/--symbol/--timeframe` looks."""
    name = symbol.replace("/", "_").replace(":", "_")
    return Path(data_dir) / exchange / f"{name}-{timeframe}.parquet"
