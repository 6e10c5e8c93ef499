"""Candle files: bad data is a one-line DataError naming file and row; gaps are reported, never filled."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dopebot.core.errors import DataError
from dopebot.feeds.history import Gap, read_candles, write_candles
from dopebot.feeds.synthetic import generate_candles


def write(tmp_path: Path, frame: pd.DataFrame) -> Path:
    path = tmp_path / "BTC_USDT-1m.parquet"
    frame.to_parquet(path)
    return path


@pytest.fixture
def frame() -> pd.DataFrame:
    return generate_candles(100, seed=1)


@pytest.mark.parametrize(("change", "message"), [
    (lambda f: f.__setitem__("close", f["close"].where(f.index != 10, np.nan)), "NaN or infinite close at row 10"),
    (lambda f: f.__setitem__("low", f["low"].where(f.index != 20, -1.0)), "non-positive price at row 20"),
    (lambda f: f.__setitem__("high", f["high"].where(f.index != 30, f["low"] - 1)), "high below low at row 30"),
    (lambda f: f.__setitem__("open", f["open"].where(f.index != 40, f["high"] + 5)),
     "open or close outside [low, high] at row 40"),
    (lambda f: f.__setitem__("volume", f["volume"].where(f.index != 50, -3.0)), "negative volume at row 50"),
])
def test_bad_rows_are_named(tmp_path: Path, frame: pd.DataFrame, change, message: str) -> None:
    change(frame)
    with pytest.raises(DataError, match=r"BTC_USDT-1m\.parquet: " + message.replace("[", r"\[").replace("]", r"\]")):
        read_candles(write(tmp_path, frame), "BTC/USDT", 60_000)


def test_duplicate_and_out_of_order_timestamps_are_refused(tmp_path: Path, frame: pd.DataFrame) -> None:
    duplicated = pd.concat([frame.iloc[:5], frame.iloc[4:]]).reset_index(drop=True)
    with pytest.raises(DataError, match="duplicate timestamp 2024-01-01T00:04:00Z at row 5"):
        read_candles(write(tmp_path, duplicated), "BTC/USDT", 60_000)
    swapped = frame.iloc[[0, 2, 1, *range(3, 100)]].reset_index(drop=True)
    with pytest.raises(DataError, match="out of order at row 2"):
        read_candles(write(tmp_path, swapped), "BTC/USDT", 60_000)


def test_off_grid_timestamps_missing_columns_and_missing_files(tmp_path: Path, frame: pd.DataFrame) -> None:
    shifted = frame.copy()
    shifted.loc[7:, "timestamp"] += 1_000
    with pytest.raises(DataError, match="not on the 60s grid at row 7"):
        read_candles(write(tmp_path, shifted), "BTC/USDT", 60_000)
    with pytest.raises(DataError, match="missing column"):
        read_candles(write(tmp_path, frame.drop(columns=["volume"])), "BTC/USDT", 60_000)
    with pytest.raises(DataError, match="no such candle file"):
        read_candles(tmp_path / "nope.parquet", "BTC/USDT", 60_000)
    (tmp_path / "junk.parquet").write_text("not parquet")
    with pytest.raises(DataError, match="not a readable candle Parquet file"):
        read_candles(tmp_path / "junk.parquet", "BTC/USDT", 60_000)


def test_gaps_are_reported_with_exact_ranges_and_rows_are_not_invented(tmp_path: Path, frame: pd.DataFrame) -> None:
    holed = frame.drop(index=[*range(10, 13), 50]).reset_index(drop=True)
    series = read_candles(write(tmp_path, holed), "BTC/USDT", 60_000)
    assert len(series) == 96
    assert series.gaps == (Gap(frame.timestamp[9], frame.timestamp[13], 3), Gap(frame.timestamp[49],
                                                                                   frame.timestamp[51], 1))
    assert str(series.gaps[0]) == "2024-01-01T00:09:00Z -> 2024-01-01T00:13:00Z (3 missing)"


def test_period_filter_and_atomic_write_round_trip(tmp_path: Path, frame: pd.DataFrame) -> None:
    path = tmp_path / "out" / "x.parquet"
    write_candles(path, pd.concat([frame, frame.iloc[:3]]))  # duplicates merged on write
    series = read_candles(path, "BTC/USDT", 60_000, int(frame.timestamp[10]), int(frame.timestamp[20]))
    pd.testing.assert_frame_equal(series.frame, frame.iloc[10:20].reset_index(drop=True))
    assert (series.close_time == series.open_time + 60_000).all()
    assert not list(path.parent.glob("*.tmp"))
