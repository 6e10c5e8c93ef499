"""LightGBM through its C library (dopebot.models.native): the same predictions as the lightgbm package, bit for
bit, for a model trained here on real candles; one-line errors for damaged model text (never a crash); and a
model backtest that imports neither pandas, nor lightgbm, nor scipy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import lightgbm as lgb

from dopebot.core.errors import ModelFileError
from dopebot.core.timeframes import parse_time
from dopebot.feeds.history import read_candles, write_candles
from dopebot.feeds.synthetic import generate_candles
from dopebot.market.features import WARMUP, feature_matrix, feature_set_id
from dopebot.market.labels import LabelSpec
from dopebot.models.artifacts import load_model, save_model, sha256_text
from dopebot.models.dataset import build_sample
from dopebot.models.lgbm import fit_final, lgbm_params
from dopebot.models.native import FastPredictor, NativeBooster

DATA = Path(__file__).parents[1].parent / "shared" / "data" / "BTC_USDT-1m.parquet"
WIDTH = 60_000


@pytest.fixture(scope="module")
def real_series():
    if not DATA.exists():
        pytest.skip(f"real data not available at {DATA}")
    return read_candles(DATA, "BTC/USDT", WIDTH, parse_time("2024-01-01"), parse_time("2024-03-01"))


@pytest.fixture(scope="module")
def trained(real_series, tmp_path_factory: pytest.TempPathFactory) -> tuple[lgb.Booster, str, Path, str]:
    """A 60-tree model on January, saved as `dopebot train` saves it."""
    january = real_series.slice(0, 31 * 1440)
    spec = LabelSpec(horizon=30)
    sample = build_sample(january.frame, WIDTH, spec)
    booster = fit_final(sample, lgbm_params(spec.kind, 1, 3), 60)
    card = {"symbol": "BTC/USDT", "timeframe": "1m", "feature_set": feature_set_id(), "label": spec.to_dict(),
            "features": list(sample.names), "threshold": 0.5}
    folder = tmp_path_factory.mktemp("native")
    saved, _ = save_model(booster, card, folder)
    return booster, booster.model_to_string(num_iteration=-1), folder, saved["id"]


def test_batch_predictions_equal_the_lightgbm_package_bit_for_bit(trained, real_series) -> None:
    booster, text, _, _ = trained
    matrix = feature_matrix(real_series.columns, WIDTH)[WARMUP:]  # Fortran order, as the backtest predicts it
    native = NativeBooster(text)
    reference = lgb.Booster(model_str=text)
    for threads in (1, 2):
        expected = reference.predict(np.ascontiguousarray(matrix), num_threads=threads)
        assert np.array_equal(native.predict(matrix, num_threads=threads), expected)
        assert np.array_equal(native.predict(np.ascontiguousarray(matrix), num_threads=threads), expected)
    assert np.array_equal(booster.predict(matrix), native.predict(matrix))  # the trained object too
    out = np.empty(len(matrix))
    assert native.predict(matrix, out=out) is out and np.array_equal(out, expected)
    with_nan = matrix[:500].copy()
    with_nan[::7, 3] = np.nan  # missing values take LightGBM's default branch in both
    assert np.array_equal(native.predict(with_nan), reference.predict(with_nan))


def test_model_description_matches_the_package(trained) -> None:
    _, text, _, _ = trained
    native, reference = NativeBooster(text), lgb.Booster(model_str=text)
    assert native.num_feature() == reference.num_feature() == 34
    assert native.feature_name() == reference.feature_name()
    assert native.num_trees() == reference.num_trees() == 60


def test_one_row_fast_path_equals_batch(trained, real_series) -> None:
    _, text, _, _ = trained
    native = NativeBooster(text)
    rows = feature_matrix(real_series.columns, WIDTH)[WARMUP : WARMUP + 300]
    fast = FastPredictor(native, rows.shape[1], threads=1)
    assert [fast.predict(row) for row in rows] == native.predict(rows).tolist()
    fast.close()
    fast.close()  # closing twice is harmless


def test_wrong_shapes_are_refused(trained) -> None:
    _, text, _, _ = trained
    native = NativeBooster(text)
    with pytest.raises(ModelFileError, match="takes 34 features, got 5"):
        native.predict(np.zeros((3, 5)))
    with pytest.raises(ValueError, match="2-D"):
        native.predict(np.zeros(34))
    with pytest.raises(ValueError, match="out must be"):
        native.predict(np.zeros((3, 34)), out=np.zeros(4))
    assert native.predict(np.zeros((0, 34))).shape == (0,)
    native.close()
    with pytest.raises(ModelFileError, match="closed"):
        native.predict(np.zeros((1, 34)))


@pytest.mark.parametrize("damage", ["garbage", "empty", "truncated", "half", "edited"])
def test_damaged_model_text_is_a_one_line_error_not_a_crash(trained, damage: str) -> None:
    """Truncated text crashes LightGBM itself (the package too): the tree offsets are checked first. Runs in
    a subprocess so that a crash fails the test instead of killing the test run."""
    _, text, _, _ = trained
    damaged = {"garbage": "not a model", "empty": "", "truncated": text[: len(text) // 3],
               "half": text[: text.index("end of trees") - 10], "edited": text.replace("Tree=3", "Tree=x")}[damage]
    script = textwrap.dedent("""
        import sys
        from dopebot.core.errors import ModelFileError
        from dopebot.models.native import NativeBooster
        try:
            NativeBooster(sys.stdin.read())
        except ModelFileError as error:
            print(error)
        else:
            print("loaded")
    """)
    done = subprocess.run([sys.executable, "-c", script], input=damaged, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    message = done.stdout.strip()
    assert message.startswith("LightGBM: loading the model failed (") and "\n" not in message


def test_load_model_reports_damage_in_one_line(trained, tmp_path: Path) -> None:
    """A truncated file whose card hash was updated to match still fails cleanly with the file's name."""
    _, text, folder, model_id = trained
    card = json.loads((folder / f"{model_id}.json").read_text())
    truncated = text[: len(text) // 2]
    (tmp_path / f"{model_id}.txt").write_text(truncated)
    (tmp_path / f"{model_id}.json").write_text(json.dumps({**card, "sha256": sha256_text(truncated)}))
    with pytest.raises(ModelFileError, match=r"\.txt: not a LightGBM model \(tree \d+ is not where") as error:
        load_model(tmp_path, model_id)
    assert "\n" not in str(error.value)
    model = load_model(folder, model_id, threads=2)
    assert isinstance(model.booster, NativeBooster) and model.names == tuple(card["features"])


def test_a_model_backtest_imports_neither_pandas_nor_lightgbm_nor_scipy(tmp_path: Path) -> None:
    """The whole `backtest --model` command path (load candles, verify the model, features, predictions,
    replay, report and record) in a fresh interpreter, on a model trained here."""
    frame = generate_candles(12_000, seed=5)
    data = tmp_path / "BTC_USDT-1m.parquet"
    write_candles(data, frame)
    spec = LabelSpec(horizon=30)
    sample = build_sample(frame.iloc[:8_000], WIDTH, spec)
    card = {"symbol": "BTC/USDT", "timeframe": "1m", "feature_set": feature_set_id(), "label": spec.to_dict(),
            "features": list(sample.names), "threshold": 0.5}
    saved, _ = save_model(fit_final(sample, lgbm_params(spec.kind, 1, 1), 20), card, tmp_path / "models")
    script = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from rich.console import Console
        import dopebot.commands.backtest_models
        from dopebot.commands.backtest import BacktestOptions, run
        from dopebot.core.config import load_settings, override
        settings = load_settings(None)
        settings = override(settings, "bot", state_file={str(tmp_path / "state.sqlite")!r})
        settings = override(settings, "models", models_dir={str(tmp_path / "models")!r})
        result = run(settings, BacktestOptions(data=Path({str(data)!r}), model={saved["id"]!r}), Console(quiet=True))
        assert result is not None and result.candles > 0
        print(sorted(name for name in ("pandas", "lightgbm", "scipy") if name in sys.modules))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
