"""Benchmark: one new closed candle -> incremental features -> one LightGBM prediction, per-call latency
p50/p99 (target p99 < 100 µs), with the general predict call (LGBM_BoosterPredictForMat on a 1-row matrix,
what a loaded model's booster.predict does) and the one-row C fast path side by side; also checks that the
fast path returns exactly what the general call returns. One inference thread, as live uses.

    .venv/bin/python bench/predict_latency.py [--candles 20000] [--trees 100]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from common import SHARED_DATA, emit, skip


def percentiles(samples_ns: list[int]) -> tuple[float, float]:
    import numpy as np

    values = np.asarray(samples_ns) / 1000.0
    return float(np.percentile(values, 50)), float(np.percentile(values, 99))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--candles", type=int, default=20_000)
    parser.add_argument("--trees", type=int, default=100)
    args = parser.parse_args()
    if not (SHARED_DATA / "BTC_USDT-1m.parquet").exists():
        skip("predict_latency", f"no data at {SHARED_DATA}")
        return
    import numpy as np

    from dopebot.core.timeframes import parse_time
    from dopebot.core.types import Candle
    from dopebot.feeds.history import read_candles
    from dopebot.market.features import IncrementalFeatures, feature_set_id
    from dopebot.market.labels import LabelSpec
    from dopebot.models.artifacts import load_model, save_model
    from dopebot.models.dataset import build_sample
    from dopebot.models.inference import IncrementalLgbm
    from dopebot.models.lgbm import fit_final, lgbm_params

    series = read_candles(SHARED_DATA / "BTC_USDT-1m.parquet", "BTC/USDT", 60_000, parse_time("2024-01-01"),
                          parse_time("2024-03-01"))
    directory = Path(tempfile.mkdtemp(prefix="dopebot-bench-"))
    spec = LabelSpec()
    sample = build_sample(series.frame, series.width_ms, spec)
    booster = fit_final(sample, lgbm_params(spec.kind, 2, 42), args.trees)  # a fixed size, like a real model
    card = {"symbol": "BTC/USDT", "timeframe": "1m", "feature_set": feature_set_id(), "label": spec.to_dict(),
            "features": list(sample.names), "threshold": 0.5}
    saved, _ = save_model(booster, card, directory)
    model = load_model(directory, saved["id"], threads=1)
    runner = IncrementalLgbm(model)
    frame = series.frame.iloc[-(args.candles + 1000):]
    candles = [Candle("BTC/USDT", int(t) + 60_000, o, h, lo, c, v) for t, o, h, lo, c, v in
               frame.itertuples(index=False)]
    for candle in candles[:1000]:
        runner.update(candle)
    features_only = IncrementalFeatures()
    for candle in candles[:1000]:
        features_only.update(candle)
    clock = time.perf_counter_ns
    total, feature_ns, fast_ns, booster_ns, rows, fast_values = [], [], [], [], [], []
    for candle in candles[1000:]:
        start = clock()
        runner.update(candle)
        total.append(clock() - start)
        start = clock()
        values = features_only.update(candle)
        feature_ns.append(clock() - start)
        rows.append(values)
    matrix = np.ascontiguousarray(np.array(rows))
    for row in matrix:
        start = clock()
        fast_values.append(runner.predictor.predict(row))
        fast_ns.append(clock() - start)
    booster_values = []
    for row in matrix:
        one = row.reshape(1, -1)
        start = clock()
        booster_values.append(model.booster.predict(one, num_threads=1)[0])
        booster_ns.append(clock() - start)
    identical = bool(np.array_equal(np.array(fast_values), np.array(booster_values)))
    extra = {"threads": 1, "candles": len(matrix), "features": matrix.shape[1],
             "trees": model.booster.num_trees(), "fast_equals_booster": identical}
    for name, samples in (("candle_to_prediction", total), ("incremental_features", feature_ns),
                          ("predict_fast_path", fast_ns), ("predict_booster", booster_ns)):
        p50, p99 = percentiles(samples)
        emit(f"{name}_p50", round(p50, 2), "us", **extra)
        emit(f"{name}_p99", round(p99, 2), "us", **extra)


if __name__ == "__main__":
    main()
