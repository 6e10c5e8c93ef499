"""`dopebot backtest --model / --thresholds / --compare` on models trained by `dopebot train`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from dopebot.commands.backtest import BacktestOptions, run
from dopebot.core.config import Settings, load_settings, override
from dopebot.core.errors import ModelFileError, UsageError
from dopebot.core.types import OrderReason
from dopebot.feeds.history import write_candles
from dopebot.feeds.synthetic import generate_candles

DOPEBOT = Path(sys.executable).with_name("dopebot")


def dopebot(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    return subprocess.run([str(DOPEBOT), *args], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env=environment)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """Two models trained on January of a generated market; February is out of sample."""
    folder = tmp_path_factory.mktemp("models")
    write_candles(folder / "data" / "binance" / "BTC_USDT-1m.parquet", generate_candles(50_000, seed=4))
    ids = []
    for seed, horizon in ((1, "30"), (2, "45")):
        done = dopebot("train", "--exchange", "binance", "--symbol", "BTC/USDT", "--timeframe", "1m",
                       "--end", "2024-01-25", "--folds", "2", "--horizon", horizon, "--seed", str(seed),
                       "--json-out", f"train{seed}.json", cwd=folder)
        assert done.returncode == 0, done.stderr
        ids.append(json.loads((folder / f"train{seed}.json").read_text())["model_id"])
    return folder, ids


def settings_in(folder: Path) -> Settings:
    settings = load_settings(None)
    data = folder / "data"
    settings = override(settings, "bot", data_dir=str(data), state_file=str(data / "dopebot.sqlite"))
    return override(settings, "models", models_dir=str(folder / "data" / "models"))


def card(folder: Path, model_id: str) -> dict:
    return json.loads((folder / "data" / "models" / f"{model_id}.json").read_text())


def test_model_backtest_out_of_sample_uses_the_cards_threshold_and_exits(trained) -> None:
    folder, (model_id, _) = trained
    console = Console(record=True, width=200)
    result = run(settings_in(folder), BacktestOptions(model=model_id, start="2024-01-26", record=False), console)
    label = card(folder, model_id)["label"]
    assert result is not None and result.strategy == "lgbm_threshold"
    assert result.settings["params"]["threshold"] == card(folder, model_id)["threshold"]
    assert result.settings["take_profit"] == pytest.approx(label["take_profit"] + 2 * label["fee"])
    assert len(result.round_trips) > 5
    assert all(t.exit_time - t.entry_time <= label["horizon"] * 60_000 for t in result.round_trips)
    assert {t.exit_reason for t in result.round_trips} <= {OrderReason.TIME, OrderReason.STOP_LOSS,
                                                            OrderReason.TAKE_PROFIT}
    assert "IN-SAMPLE" not in console.export_text()


def test_overlap_with_training_data_is_flagged(trained) -> None:
    folder, (model_id, _) = trained
    console = Console(record=True, width=200)
    run(settings_in(folder), BacktestOptions(model=model_id, start="2024-01-20", record=False), console)
    text = console.export_text()
    assert "IN-SAMPLE" in text and "overlaps model" in text


def test_threshold_sweep_and_comparison_tables(trained) -> None:
    folder, ids = trained
    console = Console(record=True, width=200)
    run(settings_in(folder), BacktestOptions(model=ids[0], start="2024-01-26", thresholds="0.3:0.5:0.1"), console)
    text = console.export_text()
    assert "entry threshold sweep" in text
    rows = [line for line in text.splitlines() if line.strip().startswith(("│ 0.3", "│ 0.4", "│ 0.5"))]
    assert len(rows) == 3
    console = Console(record=True, width=200)
    run(settings_in(folder), BacktestOptions(compare=",".join(ids), start="2024-01-26"), console)
    text = console.export_text()
    assert "side by side" in text and all(model_id in text for model_id in ids)


def test_champion_is_resolved_through_the_registry(trained) -> None:
    folder, (model_id, _) = trained
    settings = settings_in(folder)
    options = BacktestOptions(model="champion", start="2024-01-26", record=False)
    with pytest.raises(UsageError, match="no champion model"):
        run(settings, options, Console(record=True))
    done = dopebot("models", "promote", model_id, cwd=folder)
    assert done.returncode == 0, done.stderr
    result = run(settings, options, Console(record=True))
    assert result is not None and result.settings["params"]["model"] == model_id


def test_a_tampered_model_file_is_refused(trained, tmp_path: Path) -> None:
    folder, (model_id, _) = trained
    models = tmp_path / "models"
    models.mkdir()
    for file in (folder / "data" / "models").glob(f"{model_id}*"):
        (models / file.name).write_bytes(file.read_bytes())
    model_file = models / card(folder, model_id)["model_file"]
    model_file.write_text(model_file.read_text().replace("num_leaves", "num_leafs", 1))
    settings = override(settings_in(folder), "models", models_dir=str(models))
    with pytest.raises(ModelFileError, match="SHA-256 does not match"):
        run(settings, BacktestOptions(model=model_id, start="2024-01-26", record=False), Console(record=True))


def test_a_volatility_barrier_model_trades_with_the_exits_its_training_chose(trained) -> None:
    """Vol barriers differ per trade; the training's evaluation recorded fixed exits in the card, and a
    backtest of the model uses exactly those (not the configured ones)."""
    folder, _ = trained
    done = dopebot("train", "--exchange", "binance", "--symbol", "BTC/USDT", "--timeframe", "1m",
                   "--end", "2024-01-25", "--folds", "2", "--horizon", "30", "--barrier", "vol", "--tp", "1.0",
                   "--sl", "0.7", "--json-out", "vol.json", cwd=folder)
    assert done.returncode == 0, done.stderr
    model_id = json.loads((folder / "vol.json").read_text())["model_id"]
    exits = card(folder, model_id)["trading"]["exits"]
    assert exits["barrier"] == "vol" and exits["take_profit"] > exits["stop_loss"] > 0
    result = run(settings_in(folder), BacktestOptions(model=model_id, start="2024-01-26", record=False),
                 Console(record=True, width=200))
    assert result is not None
    assert (result.settings["take_profit"], result.settings["stop_loss"], result.settings["max_hold"]) == (
        exits["take_profit"], exits["stop_loss"], exits["max_hold"])
    assert all(t.exit_time - t.entry_time <= 30 * 60_000 for t in result.round_trips)
