"""Candle files on disk (Parquet, one row per candle, open time in ms): read with column-wise validation,
write atomically. Bad rows are an error naming the file and the row; gaps are reported, never filled.

Reading is numpy-only (pyarrow buffers, row groups chosen by their statistics): the backtest command does
not pay pandas' ~0.5 s import unless something asks for `CandleSeries.frame`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from dopebot.core.errors import DataError
from dopebot.core.timeframes import iso

if TYPE_CHECKING:
    import pandas as pd

COLUMNS = ("timestamp", "open", "high", "low", "close", "volume")
SCHEMA = pa.schema([("timestamp", pa.int64())] + [(c, pa.float64()) for c in COLUMNS[1:]])
Columns = dict[str, np.ndarray]


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
    """Validated candles for one symbol and width: numpy columns (the on-disk schema), open times in ms."""

    symbol: str
    width_ms: int
    columns: Columns
    gaps: tuple[Gap, ...]

    @classmethod
    def from_frame(cls, symbol: str, width_ms: int, frame: pd.DataFrame, gaps: tuple[Gap, ...] = ()) -> CandleSeries:
        columns = {name: frame[name].to_numpy() for name in COLUMNS}
        columns["timestamp"] = columns["timestamp"].astype(np.int64, copy=False)
        return cls(symbol, width_ms, columns, gaps)

    def __len__(self) -> int:
        return len(self.columns["timestamp"])

    @property
    def open_time(self) -> np.ndarray:
        return self.columns["timestamp"]

    @property
    def close_time(self) -> np.ndarray:
        return self.columns["timestamp"] + self.width_ms

    def column(self, name: str) -> np.ndarray:
        return self.columns[name]

    @cached_property
    def frame(self) -> pd.DataFrame:
        """The candles as a DataFrame, built on first use (features and training want pandas)."""
        import pandas as pd

        return pd.DataFrame({name: self.columns[name] for name in COLUMNS})

    def slice(self, start: int, stop: int | None = None) -> CandleSeries:
        """Rows [start, stop) as a new series (gaps recomputed)."""
        columns = {name: values[start:stop] for name, values in self.columns.items()}
        return CandleSeries(self.symbol, self.width_ms, columns, find_gaps(columns["timestamp"], self.width_ms))


def find_gaps(open_times: np.ndarray, width: int) -> tuple[Gap, ...]:
    steps = np.diff(open_times)
    where = np.flatnonzero(steps != width)
    return tuple(Gap(int(open_times[i]), int(open_times[i + 1]), int(steps[i] // width - 1)) for i in where)


def validate_columns(columns: Columns, width: int, source: str) -> tuple[Gap, ...]:
    """Column-wise checks, once per file: the hot path trusts what passed here."""
    missing = [c for c in COLUMNS if c not in columns]
    if missing:
        raise DataError(f"{source}: missing column(s) {', '.join(missing)}")
    times = np.asarray(columns["timestamp"])

    def first(mask: np.ndarray, problem: str) -> None:
        if mask.any():
            row = int(np.argmax(mask))
            count = int(mask.sum())
            raise DataError(f"{source}: {problem} at row {row} ({iso(int(times[row]))}), {count} row(s) in all")

    for name in COLUMNS[1:]:
        first(~np.isfinite(np.asarray(columns[name], dtype=float)), f"NaN or infinite {name}")
    o, h, lo, c, v = (np.asarray(columns[n], dtype=float) for n in COLUMNS[1:])
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


def validate_frame(frame: pd.DataFrame, width: int, source: str) -> tuple[Gap, ...]:
    return validate_columns({name: frame[name].to_numpy() for name in frame.columns}, width, source)


def _numpy(column: pa.ChunkedArray, dtype: type, name: str, source: Path, low: int = 0,
           high: int | None = None, copy: bool = True) -> np.ndarray:
    """Rows [low, high) of a column as a numpy array read from the Arrow buffers (Array.to_numpy would import
    pandas): copied once, only the requested rows, so the result is writable like any array; `copy=False` gives
    a read-only view when the rows lie in one chunk. Nothing is cast unless the file stores another type (a cast
    imports pyarrow.compute, ~40 ms)."""
    if column.null_count:
        if dtype is np.int64:
            raise DataError(f"{source}: {column.null_count} missing value(s) in column {name}")
        column = column.fill_null(float("nan"))  # validation names the first row, like any NaN
    wanted = pa.int64() if dtype is np.int64 else pa.float64()
    high = len(column) if high is None else high
    parts, start = [], 0
    for chunk in column.chunks:
        first, last = max(low, start), min(high, start + len(chunk))
        if first < last:
            piece = chunk.slice(first - start, last - first)
            if piece.type != wanted:
                piece = piece.cast(wanted)
            parts.append(np.frombuffer(piece.buffers()[1], dtype=dtype, count=len(piece), offset=piece.offset * 8))
        start += len(chunk)
    if not parts:
        return np.empty(0, dtype=dtype)
    if len(parts) == 1:
        return parts[0].copy() if copy else parts[0]
    return np.concatenate(parts)


def _row_groups(metadata: pq.FileMetaData, start: int | None, end: int | None) -> list[int]:
    """Row groups whose timestamp statistics can overlap [start, end); all of them when unsure."""
    index = metadata.schema.names.index("timestamp")
    chosen = []
    for group in range(metadata.num_row_groups):
        stats = metadata.row_group(group).column(index).statistics
        if stats is not None and stats.has_min_max and (
                (start is not None and stats.max < start) or (end is not None and stats.min >= end)):
            continue
        chosen.append(group)
    return chosen


def read_candles(path: str | Path, symbol: str, width: int, start: int | None = None,
                 end: int | None = None) -> CandleSeries:
    """Load [start, end) by candle open time; raise DataError on anything the backtest cannot trust."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such candle file (download it with `dopebot download`)")
    try:
        parquet = pq.ParquetFile(path)
        names = parquet.schema_arrow.names
        missing = [c for c in COLUMNS if c not in names]
        if missing:
            raise DataError(f"{path}: missing column(s) {', '.join(missing)}")
        table = parquet.read_row_groups(_row_groups(parquet.metadata, start, end), columns=list(COLUMNS))
        times = _numpy(table.column("timestamp"), np.int64, "timestamp", path, copy=False)
        keep = None
        if len(times) > 1 and (times[1:] > times[:-1]).all():  # sorted: cut the period by binary search
            low = 0 if start is None else int(np.searchsorted(times, start, "left"))
            high = len(times) if end is None else int(np.searchsorted(times, end, "left"))
        else:  # let validation name the disorder, within the period
            low, high = 0, len(times)
            keep = np.ones(len(times), dtype=bool)
            if start is not None:
                keep &= times >= start
            if end is not None:
                keep &= times < end
        columns = {"timestamp": times[low:high].copy() if keep is None else times[keep]}
        for name in COLUMNS[1:]:
            values = _numpy(table.column(name), np.float64, name, path, low, high)
            columns[name] = values if keep is None else values[keep]
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError, KeyError, ValueError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DataError(f"{path}: not a readable candle Parquet file ({reason})") from None
    if len(columns["timestamp"]) == 0:
        raise DataError(f"{path}: no candles in the requested period")
    gaps = validate_columns(columns, width, str(path))
    return CandleSeries(symbol, width, columns, gaps)


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
