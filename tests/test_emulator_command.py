"""`dopebot emulator` as users run it: a server process another `dopebot download` talks to with the real ccxt."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from dopebot.feeds.history import read_candles

DOPEBOT = Path(sys.executable).with_name("dopebot")


def test_download_from_a_running_emulator_command(tmp_path: Path) -> None:
    environment = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
    server = subprocess.Popen([str(DOPEBOT), "emulator", "--generated", "BTC/USDT", "--candles", "3000",
                               "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=environment)
    try:
        deadline = time.monotonic() + 60
        url = None
        while url is None and time.monotonic() < deadline:
            line = server.stdout.readline()  # type: ignore[union-attr]
            if not line:
                break
            found = re.search(r"at (http://127\.0\.0\.1:\d+)", line)
            url = found.group(1) if found else None
        assert url, f"emulator did not announce its address: {server.stderr.read() if server.poll() else ''}"
        done = subprocess.run([str(DOPEBOT), "download", "--symbols", "BTC/USDT", "--timeframe", "1m",
                               "--since", "2024-01-01", "--until", "2024-01-02", "--data-dir", str(tmp_path)],
                              cwd=tmp_path, capture_output=True, text=True, timeout=120,
                              env={**environment, "DOPEBOT_EXCHANGE_URL": url})
        assert done.returncode == 0, done.stderr
        series = read_candles(tmp_path / "binance" / "BTC_USDT-1m.parquet", "BTC/USDT", 60_000)
        assert len(series) == 1440 and not series.gaps
    finally:
        server.send_signal(signal.SIGINT)
        code = server.wait(timeout=30)  # Ctrl-C must stop it promptly
    assert code == 130  # the CLI's exit code for an interrupt
