"""`dopebot download`: resolve options against settings, run the downloader with a progress bar, and print
what each file now holds (rows written, range, gaps)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from dopebot.core.clock import Clock, WallClock
from dopebot.core.config import Settings
from dopebot.core.errors import UsageError
from dopebot.core.timeframes import iso, parse_time, width_ms
from dopebot.feeds.download import DownloadJob, SymbolReport, download_all
from dopebot.feeds.exchange import base_url_from_environment, make_exchange
from dopebot.feeds.history import data_file

GAPS_SHOWN = 10


class RichProgress:
    """One bar per symbol: candles fetched against candles expected."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, int] = {}

    def begin(self, symbol: str, expected: int) -> None:
        self.tasks[symbol] = self.progress.add_task(symbol, total=expected)

    def advance(self, symbol: str, fetched: int) -> None:
        self.progress.advance(self.tasks[symbol], fetched)  # type: ignore[arg-type]

    def finish(self, symbol: str) -> None:
        task = self.tasks[symbol]
        done = next(t.completed for t in self.progress.tasks if t.id == task)
        self.progress.update(task, total=done)  # type: ignore[arg-type]


def build_jobs(settings: Settings, *, exchange: str | None, symbols: str | None, timeframe: str | None,
               since: str | None, until: str | None, data_dir: Path | None, now_ms: int) -> list[DownloadJob]:
    """Options (None = take the setting) -> one job per symbol; bad widths or dates raise UsageError."""
    name = exchange or settings.exchange.name
    chosen = [s.strip() for s in symbols.split(",") if s.strip()] if symbols else settings.exchange.symbols
    width_text = timeframe or settings.exchange.timeframe
    width_ms(width_text)  # validates the form before any network call
    start = parse_time(since, "--since") if since else None
    end = min(parse_time(until, "--until"), now_ms) if until else now_ms
    if start is not None and start >= end:
        raise UsageError(f"--since {since} is not before --until {until or 'now'}")
    folder = data_dir or Path(settings.bot.data_dir)
    return [DownloadJob(symbol, width_text, start, end, data_file(folder, name, symbol, width_text))
            for symbol in chosen]


async def _download(settings: Settings, name: str, jobs: list[DownloadJob], clock: Clock,
                    console: Console) -> list[SymbolReport]:
    exchange = make_exchange(name, settings.exchange, base_url=base_url_from_environment())
    try:
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, console=console, transient=False) as progress:
            return await download_all(exchange, jobs, clock, progress=RichProgress(progress))
    finally:
        await exchange.close()


def print_reports(console: Console, reports: list[SymbolReport]) -> None:
    """One line per symbol, then its gaps: lines wrap in a narrow terminal instead of being cut."""
    for report in reports:
        span = "no candles"
        if report.first is not None and report.last is not None:
            span = f"{iso(report.first)} -> {iso(report.last)}"
        console.print(f"{report.symbol}: {report.rows_written:,} rows written, {report.total_rows:,} in file "
                      f"({span}), {len(report.gaps)} gap(s) -> {report.path}", soft_wrap=True)
        for gap in report.gaps[:GAPS_SHOWN]:
            console.print(f"  gap: {gap}", soft_wrap=True)
        if len(report.gaps) > GAPS_SHOWN:
            console.print(f"  ... and {len(report.gaps) - GAPS_SHOWN} more gap(s)")
        if report.gaps:
            console.print("  gaps are reported, never filled")


def run(settings: Settings, *, exchange: str | None = None, symbols: str | None = None,
        timeframe: str | None = None, since: str | None = None, until: str | None = None,
        data_dir: Path | None = None) -> list[SymbolReport]:
    clock = WallClock()
    jobs = build_jobs(settings, exchange=exchange, symbols=symbols, timeframe=timeframe, since=since,
                      until=until, data_dir=data_dir, now_ms=clock.now_ms())
    console = Console()
    reports = asyncio.run(_download(settings, exchange or settings.exchange.name, jobs, clock, console))
    print_reports(console, reports)
    return reports
