"""Benchmark: train on one year of BTC/USDT 1m (features + labels + 5 purged folds with early stopping +
final fit) with the configured training threads. Each run is a fresh process (OMP_WAIT_POLICY must be set
before LightGBM loads, and peak RSS is per process); prints one JSON line per figure, medians of --runs.

    .venv/bin/python bench/train.py [--runs 3] [--threads 2] [--year 2024]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from common import REPO, SHARED_DATA, emit, median, peak_rss_mib, skip


def once(threads: int, year: int) -> dict[str, float]:
    from dopebot.core.timeframes import parse_time
    from dopebot.feeds.history import read_candles
    from dopebot.market.labels import LabelSpec
    from dopebot.models.dataset import build_sample
    from dopebot.models.pipeline import WalkForwardConfig, final_model, walk_forward_oof

    started = time.perf_counter()
    series = read_candles(SHARED_DATA / "BTC_USDT-1m.parquet", "BTC/USDT", 60_000, parse_time(f"{year}-01-01"),
                          parse_time(f"{year + 1}-01-01"))
    loaded = time.perf_counter()
    spec = LabelSpec()
    sample = build_sample(series.frame, series.width_ms, spec)
    sampled = time.perf_counter()
    result = walk_forward_oof(sample, spec, WalkForwardConfig(folds=5, threads=threads))
    folded = time.perf_counter()
    final_model(sample, result)
    done = time.perf_counter()
    return {"rows": len(sample), "features": sample.features.shape[1], "load_s": loaded - started,
            "features_labels_s": sampled - loaded, "folds_s": folded - sampled, "final_fit_s": done - folded,
            "train_wall_s": done - loaded, "peak_rss_mib": peak_rss_mib(), "auc": result.overall["auc"],
            "rounds": sum(result.best_iterations)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--year", type=int, default=2024)
    parser.add_argument("--once", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.once:
        print(json.dumps(once(args.threads, args.year)))
        return
    if not (SHARED_DATA / "BTC_USDT-1m.parquet").exists():
        skip("train_wall", f"no data at {SHARED_DATA}")
        return
    environment = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "PYTHONPATH": str(REPO)}
    runs = []
    for _ in range(args.runs):
        output = subprocess.run([sys.executable, __file__, "--once", "--threads", str(args.threads), "--year",
                                 str(args.year)], env=environment, capture_output=True, text=True, check=True)
        runs.append(json.loads(output.stdout.strip().splitlines()[-1]))
    extra = {"threads": args.threads, "runs": args.runs, "rows": runs[0]["rows"], "features": runs[0]["features"]}
    for name in ("train_wall_s", "features_labels_s", "folds_s", "final_fit_s", "load_s"):
        emit(name.removesuffix("_s"), round(median([r[name] for r in runs]), 3), "s", **extra,
             all=[round(r[name], 3) for r in runs])
    emit("peak_rss", round(median([r["peak_rss_mib"] for r in runs]), 1), "MiB", **extra)
    emit("oof_auc", round(runs[0]["auc"], 4), "", **extra)
    emit("boosting_rounds", runs[0]["rounds"], "rounds", **extra)


if __name__ == "__main__":
    main()
