"""`dopebot backtest --model ID` over all of 2024 BTC/USDT 1m (527,040 candles): a model trained on the last
quarter of 2023 in a temporary folder, then the whole command's wall time (median of 3; target < 3 s):
start-up, loading, batch features, batch predictions, the per-candle replay, report and SQLite record."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import REPO, SHARED_DATA, emit, median, peak_rss_mib, skip

DATA = SHARED_DATA / "BTC_USDT-1m.parquet"
DOPEBOT = str(REPO / ".venv" / "bin" / "dopebot")


def main() -> None:
    if not DATA.exists():
        skip("backtest_model_command_wall_seconds", f"{DATA} not present")
        return
    environment = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run([DOPEBOT, "train", "--data", str(DATA), "--start", "2023-10-01", "--end", "2024-01-01",
                        "--folds", "3", "--json-out", "train.json"], cwd=folder, check=True, capture_output=True,
                       env=environment)
        model_id = json.loads((Path(folder) / "train.json").read_text())["model_id"]
        command = [DOPEBOT, "backtest", "--data", str(DATA), "--start", "2024-01-01", "--end", "2025-01-01",
                   "--model", model_id]
        walls = []
        for _ in range(3):
            started = time.perf_counter()
            done = subprocess.run(command, cwd=folder, capture_output=True, text=True, env=environment)
            walls.append(time.perf_counter() - started)
            if done.returncode != 0:
                print(done.stderr, file=sys.stderr)
                raise SystemExit(1)
        phases = [json.loads(subprocess.run(
            [sys.executable, str(Path(__file__).with_name("_phases.py")), "--model", model_id, "--data",
             str(DATA)], cwd=folder, check=True, capture_output=True, text=True, env=environment).stdout)
            for _ in range(3)]
    emit("backtest_model_command_wall_seconds", round(median(walls), 3), "s", runs=len(walls), target=3.0,
         all=[round(w, 3) for w in walls], what="dopebot backtest --model over 2024 BTC/USDT 1m",
         peak_rss_mib=round(peak_rss_mib(children=True), 1))
    names = [name for name, value in phases[0].items() if isinstance(value, float)]
    emit("backtest_model_phase_seconds", round(median([p["total"] for p in phases]), 3), "s", runs=len(phases),
         phases={name: round(median([p[name] for p in phases]), 3) for name in names},
         heavy_imports=phases[0]["heavy_imports"], what="the same command's steps timed in one process (medians)")


if __name__ == "__main__":
    main()
