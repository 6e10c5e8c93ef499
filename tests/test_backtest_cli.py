"""`dopebot backtest` as users run it: a subprocess on a real Parquet file, its outputs and its errors."""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from dopebot.feeds.history import write_candles
from dopebot.feeds.synthetic import generate_candles

DOPEBOT = Path(sys.executable).with_name("dopebot")


def dopebot(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "DOPEBOT_DEBUG"}
    return subprocess.run([str(DOPEBOT), *args], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env=environment)


@pytest.fixture(scope="module")
def market_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli")
    write_candles(folder / "data" / "binance" / "BTC_USDT-1m.parquet", generate_candles(30_000, seed=9))
    return folder


def test_backtest_writes_trades_json_chart_and_records_the_run(market_file: Path) -> None:
    done = dopebot("backtest", "--exchange", "binance", "--symbol", "BTC/USDT", "--timeframe", "1m",
                   "--stake-amount", "500", "--starting-balance", "10000", "--fee", "0.001", "--slippage", "3",
                   "--trades-out", "trades.csv", "--json-out", "report.json", "--plot", "equity.png",
                   cwd=market_file)
    assert done.returncode == 0, done.stderr
    for label in ("total return", "Sharpe", "max drawdown", "profit factor", "buy and hold", "fees paid"):
        assert label in done.stdout
    assert "3 bps per market fill" in done.stdout
    with open(market_file / "trades.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["entry_time", "exit_time", "entry_price", "exit_price", "amount", "fees", "pnl"]
    report = json.loads((market_file / "report.json").read_text())
    assert report["metrics"]["trades"] == len(rows) > 10
    total_pnl = sum(Decimal(row["pnl"]) for row in rows)
    assert (market_file / "equity.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with sqlite3.connect(market_file / "data" / "dopebot.sqlite") as database:
        (candles, final_equity), = database.execute("SELECT candles, final_equity FROM runs").fetchall()
        fills = database.execute("SELECT count(*) FROM fills").fetchone()[0]
    assert candles == 30_000
    assert fills in (2 * len(rows), 2 * len(rows) + 1)  # one entry may still be open at the end
    if fills == 2 * len(rows):  # flat at the end: equity is exactly the start plus the closed trades
        assert Decimal(final_equity) == Decimal(10_000) + total_pnl


@pytest.mark.parametrize(("args", "message", "code"), [
    (["--strategy", "nope"], "error: unknown strategy 'nope'; available: ", 2),
    (["--data", "missing.parquet"], "error: missing.parquet: no such candle file", 3),
    (["--stake-amount", "5", "--stake-fraction", "0.1"], "error: give --stake-amount or --stake-fraction", 2),
    (["--fee", "0.5"], "error: command line: --fee = 0.5: must be between 0 and 0.1", 2),
    (["--start", "yesterday"], "error: --start 'yesterday': expected an ISO date", 2),
    (["--timeframe", "7x"], "error: timeframe '7x': expected a number and a unit", 2),
])
def test_user_mistakes_are_one_line_errors(market_file: Path, args: list[str], message: str, code: int) -> None:
    done = dopebot("backtest", "--no-record", *args, cwd=market_file)
    assert done.returncode == code
    assert done.stderr.startswith(message), done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr
