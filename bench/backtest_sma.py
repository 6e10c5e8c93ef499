"""sma_cross over 2024 BTC/USDT 1m (527,040 candles) through the real per-candle path.

Figures: engine candles/s (median of 5; replay only, and the whole run_backtest including batch indicators
and the equity curve), a bare-loop baseline measured in the same run (candle objects and one no-op call per
candle) with the ratio, peak RSS, and the wall time of the whole `dopebot backtest` command."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from itertools import repeat

from common import REPO, SHARED_DATA, emit, median, peak_rss_mib, skip

from dopebot.core.timeframes import parse_time
from dopebot.core.types import Candle, Market
from dopebot.execution.simulated import FillModel
from dopebot.feeds.history import read_candles
from dopebot.runtime.backtest import build_node, replay, run_backtest
from dopebot.runtime.node import NodeSpec
from dopebot.runtime.process import keep_freed_memory
from dopebot.trading.loader import load_strategy
from dopebot.trading.trader import TraderConfig

RUNS = 5
DATA = SHARED_DATA / "BTC_USDT-1m.parquet"


def bare_loop(series) -> float:
    """What any per-candle engine pays at least: build each candle and make one call with it."""
    columns = [series.column(n).tolist() for n in ("open", "high", "low", "close", "volume")]
    times = series.close_time.tolist()
    sink = [].append
    started = time.perf_counter()
    for candle in map(tuple.__new__, repeat(Candle), zip(repeat("BTC/USDT"), times, *columns)):
        sink(candle.time)
    return time.perf_counter() - started


def once() -> dict[str, float]:
    """One fresh process, as a user's `dopebot backtest` is: replay, whole run_backtest, bare loop."""
    keep_freed_memory()  # as the CLI does
    series = read_candles(DATA, "BTC/USDT", 60_000, parse_time("2024-01-01"), parse_time("2025-01-01"))
    spec = NodeSpec(Market.spot("BTC/USDT", "0.01", "0.00001"), "1m", load_strategy("sma_cross"),
                    TraderConfig(stake_amount=Decimal(10_000)), Decimal(1_000_000),
                    FillModel(Decimal("0.001"), Decimal(0)))
    node = build_node(spec, series)
    started = time.perf_counter()
    replay(node, series)
    replay_seconds = time.perf_counter() - started
    started = time.perf_counter()
    result = run_backtest(spec, series)
    total_seconds = time.perf_counter() - started
    return {"candles": len(series), "trades": len(result.round_trips), "replay": replay_seconds,
            "total": total_seconds, "bare": bare_loop(series), "rss": peak_rss_mib()}


def main() -> None:
    if not DATA.exists():
        skip("backtest_sma_engine_candles_per_second", f"{DATA} not present")
        return
    if "--once" in sys.argv:
        print(json.dumps(once()))
        return
    runs = [json.loads(subprocess.run([sys.executable, __file__, "--once"], check=True, capture_output=True,
                                      text=True).stdout.strip().splitlines()[-1]) for _ in range(RUNS)]
    candles = runs[0]["candles"]
    rates = [candles / run["replay"] for run in runs]
    engine, bare = median(rates), median([candles / run["bare"] for run in runs])
    emit("backtest_sma_engine_candles_per_second", round(engine), "candles/s", runs=RUNS, target=1_000_000,
         best=round(max(rates)), all=[round(rate) for rate in rates], candles=candles, trades=runs[0]["trades"],
         what="replay loop (venue, bus, trader, strategy, fills, portfolio), one fresh process per run")
    emit("backtest_sma_run_candles_per_second", round(median([candles / run["total"] for run in runs])),
         "candles/s", runs=RUNS, what="run_backtest: batch indicators + replay + equity curve + result")
    emit("backtest_bare_loop_candles_per_second", round(bare), "candles/s", runs=RUNS,
         what="baseline: build candle + one call, same processes")
    emit("backtest_engine_vs_bare_loop", round(engine / bare, 3), "ratio")
    emit("backtest_sma_peak_rss", round(median([run["rss"] for run in runs]), 1), "MiB",
         what="one process: candles, replay and a second full run_backtest")
    command = [str(REPO / ".venv" / "bin" / "dopebot"), "backtest", "--strategy", "sma_cross", "--data", str(DATA),
               "--start", "2024-01-01", "--end", "2025-01-01", "--stake-amount", "10000",
               "--starting-balance", "1000000"]
    walls = []
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(3):
            started = time.perf_counter()
            subprocess.run(command, cwd=folder, check=True, capture_output=True)
            walls.append(time.perf_counter() - started)
    emit("backtest_command_wall_seconds", round(median(walls), 3), "s", runs=len(walls), target=3.0,
         what="dopebot backtest incl. start-up, loading, report and SQLite record",
         peak_rss_mib=round(peak_rss_mib(children=True), 1))


if __name__ == "__main__":
    sys.exit(main())
