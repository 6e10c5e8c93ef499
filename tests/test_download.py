"""`dopebot download` against the emulator with the real ccxt: pagination, resume, retries through 429 and
503, gaps reported exactly and never filled, junk answers refused, and one-line errors from the CLI."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from dopebot.core.clock import SimulatedClock
from dopebot.core.config import Settings
from dopebot.core.errors import ExchangeError, UsageError
from dopebot.core.timeframes import parse_time
from dopebot.emulator import EmulatorServer, MarketData, running_emulator
from dopebot.feeds.download import DownloadJob, SymbolReport, download_all
from dopebot.feeds.exchange import EXCHANGE_URL_ENV
from dopebot.feeds.history import Gap, data_file, read_candles
from tests.emulator_support import (
    BTC_ROWS,
    MINUTE,
    SOL_DROPPED,
    SOL_ROWS,
    T0,
    SleepRecorder,
    fast_policy,
    generated_market,
    local_exchange,
)
from tests.paths import shared_file

pytest_plugins = ["tests.emulator_fixtures"]  # fixtures: emulator (per module), emu (reset per test), exchange

KLINES = "/api/v3/klines"
FAR_FUTURE = 4_102_444_800_000  # 2100: every served candle is closed
DOPEBOT = Path(sys.executable).parent / "dopebot"


def source(symbol: str) -> pd.DataFrame:
    return generated_market().frame(symbol)


async def download(exchange: Any, folder: Path, symbol: str, start: int | None, end: int, *,
                   now: int = FAR_FUTURE, recorder: SleepRecorder | None = None,
                   attempts: int = 4) -> SymbolReport:
    job = DownloadJob(symbol, "1m", start, end, data_file(folder, "binance", symbol, "1m"))
    [report] = await download_all(exchange, [job], SimulatedClock(now), policy=fast_policy(recorder, attempts))
    return report


def on_disk(folder: Path, symbol: str) -> pd.DataFrame:
    return pd.read_parquet(data_file(folder, "binance", symbol, "1m"))


def page_starts(emu: EmulatorServer) -> list[int]:
    return [int(r.query["startTime"]) for r in emu.requests_to(KLINES)]


async def test_download_equals_the_generated_source(emu: EmulatorServer, exchange: Any, tmp_path: Path) -> None:
    report = await download(exchange, tmp_path, "BTC/USDT", T0, T0 + 6_000 * MINUTE)
    assert (report.rows_written, report.total_rows, report.gaps) == (BTC_ROWS, BTC_ROWS, ())
    assert (report.first, report.last) == (T0, T0 + (BTC_ROWS - 1) * MINUTE)
    pd.testing.assert_frame_equal(on_disk(tmp_path, "BTC/USDT"), source("BTC/USDT"))
    # five full pages of 1000, advanced from the last candle, then one empty answer ends it
    assert page_starts(emu) == [T0 + page * 1_000 * MINUTE for page in range(6)]
    assert {r.query["limit"] for r in emu.requests_to(KLINES)} == {"1000"}


async def test_download_of_real_parquet_data_equals_source_and_reports_its_gap(tmp_path: Path) -> None:
    path = shared_file("BTC_USDT-1m.parquet")
    start, end = parse_time("2021-04-19"), parse_time("2021-04-22")  # 3 days with one 150-minute hole
    expected = read_candles(path, "BTC/USDT", MINUTE, start, end).frame
    with running_emulator(MarketData.from_parquet(path, "BTC/USDT", "1m", start, end)) as emu:
        client = local_exchange(emu.url)
        try:
            report = await download(client, tmp_path, "BTC/USDT", start, end)
        finally:
            await client.close()
    assert (report.rows_written, report.total_rows) == (3 * 1440 - 150, 3 * 1440 - 150)
    assert report.gaps == (Gap(parse_time("2021-04-20T01:59"), parse_time("2021-04-20T04:30"), 150),)
    pd.testing.assert_frame_equal(on_disk(tmp_path, "BTC/USDT"), expected)
    assert len(emu.requests_to(KLINES)) == 5  # 4170 rows: 5 pages, the last one ends at --until


async def test_resume_extends_the_file_without_duplicates_or_holes(emu: EmulatorServer, exchange: Any,
                                                                    tmp_path: Path) -> None:
    first = await download(exchange, tmp_path, "ETH/USDT", T0, T0 + 1_234 * MINUTE)
    assert (first.rows_written, first.last) == (1_234, T0 + 1_233 * MINUTE)
    emu.reset()
    second = await download(exchange, tmp_path, "ETH/USDT", None, T0 + 10_000 * MINUTE)  # no --since: continue
    assert (second.rows_written, second.total_rows) == (3_000 - 1_234, 3_000)
    assert page_starts(emu)[0] == T0 + 1_234 * MINUTE  # asked only for what was missing
    pd.testing.assert_frame_equal(on_disk(tmp_path, "ETH/USDT"), source("ETH/USDT"))


async def test_an_earlier_since_backfills_before_the_file(emu: EmulatorServer, exchange: Any,
                                                          tmp_path: Path) -> None:
    await download(exchange, tmp_path, "ETH/USDT", T0 + 1_000 * MINUTE, T0 + 2_000 * MINUTE)
    emu.reset()
    report = await download(exchange, tmp_path, "ETH/USDT", T0, T0 + 2_500 * MINUTE)
    assert (report.rows_written, report.total_rows) == (1_500, 2_500)
    assert page_starts(emu) == [T0, T0 + 2_000 * MINUTE]
    pd.testing.assert_frame_equal(on_disk(tmp_path, "ETH/USDT"), source("ETH/USDT").iloc[:2_500])


async def test_429_and_503_midway_are_retried_without_losing_or_repeating_rows(
        emu: EmulatorServer, exchange: Any, tmp_path: Path) -> None:
    emu.faults.rate_limit(1, retry_after=1, path=KLINES, after=2)
    emu.faults.unavailable(1, status=503, path=KLINES, after=4)
    recorder = SleepRecorder()
    report = await download(exchange, tmp_path, "BTC/USDT", T0, T0 + BTC_ROWS * MINUTE, recorder=recorder)
    assert [r.status for r in emu.requests_to(KLINES)] == [200, 200, 429, 200, 503, 200, 200]
    assert page_starts(emu) == [T0 + page * 1_000 * MINUTE for page in (0, 1, 2, 2, 3, 3, 4)]
    assert recorder.delays == [1.0, 0.01]  # Retry-After honoured, then the first backoff step
    assert (report.rows_written, report.gaps) == (BTC_ROWS, ())
    pd.testing.assert_frame_equal(on_disk(tmp_path, "BTC/USDT"), source("BTC/USDT"))


async def test_gaps_in_the_source_are_reported_exactly_and_not_filled(exchange: Any, tmp_path: Path) -> None:
    report = await download(exchange, tmp_path, "SOL/USDT", T0, T0 + SOL_ROWS * MINUTE)
    assert report.gaps == (Gap(T0 + 99 * MINUTE, T0 + 130 * MINUTE, 30),
                           Gap(T0 + 1_999 * MINUTE, T0 + 2_001 * MINUTE, 1))
    assert report.total_rows == SOL_ROWS - sum(len(rows) for rows in SOL_DROPPED)
    pd.testing.assert_frame_equal(on_disk(tmp_path, "SOL/USDT"), source("SOL/USDT"))


async def test_malformed_answers_are_a_clear_error_and_keep_the_good_pages(
        emu: EmulatorServer, exchange: Any, tmp_path: Path) -> None:
    emu.faults.malformed(10, path=KLINES, after=2)
    with pytest.raises(ExchangeError) as caught:
        await download(exchange, tmp_path, "BTC/USDT", T0, T0 + BTC_ROWS * MINUTE, attempts=3)
    message = str(caught.value)
    assert "gave up after 3 attempts" in message and "malformed klines answer" in message
    assert "\n" not in message
    assert [r.status for r in emu.requests_to(KLINES)] == [200] * 5  # 2 good pages, 3 junk attempts
    pd.testing.assert_frame_equal(on_disk(tmp_path, "BTC/USDT"), source("BTC/USDT").iloc[:2_000])


async def test_a_lasting_outage_gives_up_after_bounded_attempts(emu: EmulatorServer, exchange: Any,
                                                                tmp_path: Path) -> None:
    emu.faults.unavailable(10, status=503, path=KLINES, after=1)
    recorder = SleepRecorder()
    with pytest.raises(ExchangeError, match=r"^binance BTC/USDT 1m: gave up after 3 attempts: binance"):
        await download(exchange, tmp_path, "BTC/USDT", T0, T0 + BTC_ROWS * MINUTE, recorder=recorder,
                       attempts=3)
    assert [r.status for r in emu.requests_to(KLINES)] == [200, 503, 503, 503]
    assert recorder.delays == [0.01, 0.02]  # exponential backoff
    assert len(on_disk(tmp_path, "BTC/USDT")) == 1_000  # the page before the outage was kept


async def test_a_ban_longer_than_the_policy_allows_is_not_waited_out(emu: EmulatorServer, exchange: Any,
                                                                     tmp_path: Path) -> None:
    emu.faults.rate_limit(1, retry_after=600, status=418, path=KLINES)
    recorder = SleepRecorder()
    with pytest.raises(ExchangeError, match="asks to wait 600 s"):
        await download(exchange, tmp_path, "BTC/USDT", T0, T0 + BTC_ROWS * MINUTE, recorder=recorder)
    assert recorder.delays == []


async def test_the_still_open_candle_is_not_stored(exchange: Any, tmp_path: Path) -> None:
    last_open = T0 + (BTC_ROWS - 1) * MINUTE
    report = await download(exchange, tmp_path, "BTC/USDT", T0, FAR_FUTURE, now=last_open + 30_000)
    assert (report.total_rows, report.last) == (BTC_ROWS - 1, last_open - MINUTE)


async def test_unknown_symbol_and_width_are_usage_errors(emu: EmulatorServer, exchange: Any,
                                                         tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"^binance has no market NOPE/USDT"):
        await download(exchange, tmp_path, "NOPE/USDT", T0, T0 + MINUTE)
    job = DownloadJob("BTC/USDT", "10s", T0, T0 + MINUTE, tmp_path / "x.parquet")
    with pytest.raises(UsageError, match=r"^binance has no 10s candles"):
        await download_all(exchange, [job], SimulatedClock(FAR_FUTURE), policy=fast_policy())
    with pytest.raises(UsageError, match="give --since for the first download"):
        await download(exchange, tmp_path, "BTC/USDT", None, T0 + MINUTE)
    assert emu.requests_to(KLINES) == []
    assert not any(tmp_path.rglob("*.parquet"))


@pytest.mark.parametrize(("options", "message"), [
    ({"timeframe": "1x"}, "timeframe '1x'"),
    ({"since": "yesterday"}, "--since 'yesterday'"),
    ({"since": "2024-01-02", "until": "2024-01-01"}, "is not before --until"),
    ({"exchange": "nope", "since": "2024-01-01"}, "unknown exchange 'nope'"),
])
def test_bad_options_fail_before_any_request(emulator: EmulatorServer, tmp_path: Path, options: dict[str, str],
                                             message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from dopebot.commands.download import run

    monkeypatch.setenv(EXCHANGE_URL_ENV, emulator.url)
    emulator.reset()
    with pytest.raises(UsageError, match=message):
        run(Settings(), **{"symbols": "BTC/USDT", "data_dir": tmp_path, **options})
    assert emulator.requests == []


def run_cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, EXCHANGE_URL_ENV: url}
    environment.pop("DOPEBOT_DEBUG", None)
    return subprocess.run([str(DOPEBOT), "download", "--exchange", "binance", "--timeframe", "1m", *args],
                          env=environment, capture_output=True, text=True, timeout=60, check=False)


def test_cli_unknown_symbol_is_one_line_and_a_nonzero_exit(emulator: EmulatorServer, tmp_path: Path) -> None:
    result = run_cli(emulator.url, "--symbols", "BTC/USDT,NOPE/USDT", "--since", "2024-01-01",
                     "--data-dir", str(tmp_path))
    assert result.returncode == UsageError.exit_code
    assert result.stderr.splitlines() == ["error: binance has no market NOPE/USDT (symbols look like BTC/USDT)"]
    assert "Traceback" not in result.stdout + result.stderr
    assert not any(tmp_path.rglob("*.parquet"))  # checked before anything was downloaded


def test_cli_downloads_two_symbols_through_the_environment_url(emulator: EmulatorServer, tmp_path: Path) -> None:
    emulator.reset()
    result = run_cli(emulator.url, "--symbols", "BTC/USDT,ETH/USDT", "--since", "2024-01-01",
                     "--until", "2024-01-02", "--data-dir", str(tmp_path))
    assert (result.returncode, result.stderr) == (0, "")
    assert "BTC/USDT: 1,440 rows written, 1,440 in file (2024-01-01T00:00:00Z -> 2024-01-01T23:59:00Z)" \
        in result.stdout
    assert "ETH/USDT: 1,440 rows written" in result.stdout
    for symbol in ("BTC/USDT", "ETH/USDT"):
        pd.testing.assert_frame_equal(on_disk(tmp_path, symbol), source(symbol).iloc[:1_440])
    assert len(emulator.requests_to(KLINES)) == 4  # two pages per symbol, the second ends at --until


class RecordingProgress:
    """A progress sink that keeps what the downloader told it (the CLI draws the same calls as bars)."""

    def __init__(self) -> None:
        self.expected: dict[str, int] = {}
        self.fetched: dict[str, int] = {}
        self.finished: list[str] = []

    def begin(self, symbol: str, expected: int) -> None:
        self.expected[symbol] = expected
        self.fetched[symbol] = 0

    def advance(self, symbol: str, fetched: int) -> None:
        self.fetched[symbol] += fetched

    def finish(self, symbol: str) -> None:
        self.finished.append(symbol)


async def test_progress_counts_every_stored_row_and_finishes_when_history_ends_early(
        emu: EmulatorServer, exchange: Any, tmp_path: Path) -> None:
    """Asking far past the source's last candle: the estimate is the whole window, the bar still ends."""
    sink = RecordingProgress()
    job = DownloadJob("BTC/USDT", "1m", T0, T0 + 10_000 * MINUTE, data_file(tmp_path, "binance", "BTC/USDT", "1m"))
    [report] = await download_all(exchange, [job], SimulatedClock(FAR_FUTURE), progress=sink,
                                  policy=fast_policy(None, 4))
    assert sink.expected == {"BTC/USDT": 10_000}
    assert sink.fetched == {"BTC/USDT": report.rows_written} == {"BTC/USDT": BTC_ROWS}
    assert sink.finished == ["BTC/USDT"]


def test_the_cli_bar_ends_at_what_was_fetched() -> None:
    from rich.console import Console
    from rich.progress import Progress

    from dopebot.commands.download import RichProgress

    with Progress(console=Console(file=io.StringIO())) as progress:
        bars = RichProgress(progress)
        bars.begin("BTC/USDT", 10_000)
        bars.advance("BTC/USDT", 6_000)
        bars.finish("BTC/USDT")
        [task] = progress.tasks
        assert (task.completed, task.total, task.finished) == (6_000, 6_000, True)
