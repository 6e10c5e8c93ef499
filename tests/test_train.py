"""Training end to end on a generated market: byte-identical model files for the same inputs and seed,
verified loading (hash, features, corrupt files), and identical batch / one-row fast-path predictions."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from dopebot.core.errors import ModelFileError
from dopebot.core.types import Candle
from dopebot.feeds.synthetic import generate_candles
from dopebot.market.labels import LabelSpec
from dopebot.models.artifacts import load_model
from dopebot.models.inference import IncrementalLgbm, predict_frame
from dopebot.models.pipeline import WalkForwardConfig
from dopebot.models.training import TrainOutcome, TrainRequest, train_model

FRAME = generate_candles(12_000, seed=21)
SPEC = LabelSpec(horizon=30, take_profit=0.003, stop_loss=0.003, fee=0.0005)


def train(directory: Path, seed: int = 42, threads: int = 1) -> TrainOutcome:
    request = TrainRequest("BTC/USDT", "1m", 60_000, SPEC, WalkForwardConfig(folds=3, threads=threads, seed=seed),
                           directory, created_ms=1_700_000_000_000, source="synthetic")
    return train_model(request, FRAME)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> TrainOutcome:
    return train(tmp_path_factory.mktemp("models"))


def test_same_data_config_and_seed_give_identical_model_bytes(trained: TrainOutcome, tmp_path: Path) -> None:
    again = train(tmp_path)
    assert again.model_id == trained.model_id
    first = trained.card_path.parent / f"{trained.model_id}.txt"
    assert (tmp_path / f"{again.model_id}.txt").read_bytes() == first.read_bytes()
    assert train(tmp_path / "other", seed=7).model_id != trained.model_id


def test_card_records_what_the_model_needs(trained: TrainOutcome) -> None:
    card = json.loads(trained.card_path.read_text())
    assert card["id"] == trained.model_id and card["id"].startswith("lgbm-BTC-USDT-1m-")
    assert card["feature_set"] == "ohlcv-v1" and len(card["features"]) >= 30
    assert card["label"]["horizon"] == 30 and card["validation"]["embargo_used"] == 30
    assert len(card["validation"]["folds_metrics"]) == 3 and card["params"]["num_threads"] == 1
    assert card["data"]["candles"] == 12_000 and len(card["data"]["sha256"]) == 64
    assert 0 < card["threshold"] < 1 and card["created"] == 1_700_000_000_000
    overall = card["validation"]["overall"]
    assert {"auc", "log_loss", "brier", "base_rate", "precision_at_recall", "auc_hit", "auc_direction",
            "best_feature_auc"} <= overall.keys()


def test_batch_and_fast_path_predictions_are_identical(trained: TrainOutcome) -> None:
    model = load_model(trained.card_path.parent, trained.model_id, threads=1)
    batch = predict_frame(model, FRAME)
    runner = IncrementalLgbm(model)
    online = []
    for ts, o, h, lo, c, v in FRAME.iloc[:3_000].itertuples(index=False):
        online.append(runner.update(Candle("BTC/USDT", int(ts) + 60_000, o, h, lo, c, v)))
    online_values = np.array(online)
    assert np.isnan(batch[:720]).all() and np.isfinite(batch[720:]).all()
    np.testing.assert_array_equal(np.isnan(online_values), np.isnan(batch[:3_000]))
    np.testing.assert_allclose(online_values[720:], batch[720:3_000], rtol=1e-12, atol=0)
    row = np.ascontiguousarray(np.array([runner.features.update(Candle("BTC/USDT", 0, 1, 1, 1, 1, 1))]))
    assert runner.predictor.predict(row[0]) == model.booster.predict(row)[0]


def test_loading_rejects_changed_or_corrupt_files(trained: TrainOutcome, tmp_path: Path) -> None:
    source = trained.card_path.parent
    for name in (f"{trained.model_id}.txt", f"{trained.model_id}.json"):
        (tmp_path / name).write_bytes((source / name).read_bytes())
    model_file = tmp_path / f"{trained.model_id}.txt"
    model_file.write_text(model_file.read_text().replace("Tree=0", "Tree=0 "))
    with pytest.raises(ModelFileError, match="SHA-256"):
        load_model(tmp_path, trained.model_id)
    card_file = tmp_path / f"{trained.model_id}.json"
    card = json.loads(card_file.read_text())
    model_file.write_text("not a model")
    card_file.write_text(json.dumps({**card, "sha256": __import__("hashlib").sha256(b"not a model").hexdigest()}))
    with pytest.raises(ModelFileError, match="not a LightGBM model"):
        load_model(tmp_path, trained.model_id)
    card_file.write_text("{broken")
    with pytest.raises(ModelFileError, match="not valid JSON"):
        load_model(tmp_path, trained.model_id)
    with pytest.raises(ModelFileError, match="not found"):
        load_model(tmp_path, "lgbm-none")


def test_feature_names_are_checked(trained: TrainOutcome, tmp_path: Path) -> None:
    source = trained.card_path.parent
    (tmp_path / f"{trained.model_id}.txt").write_bytes((source / f"{trained.model_id}.txt").read_bytes())
    card = json.loads(trained.card_path.read_text())
    card["features"] = card["features"][::-1]
    (tmp_path / f"{trained.model_id}.json").write_text(json.dumps(card))
    with pytest.raises(ModelFileError, match="feature names"):
        load_model(tmp_path, trained.model_id)
    card["feature_set"] = "ohlcv-v0"
    (tmp_path / f"{trained.model_id}.json").write_text(json.dumps(card))
    with pytest.raises(ModelFileError, match="feature set"):
        load_model(tmp_path, trained.model_id)


def test_train_command_registry_and_lookahead_end_to_end(tmp_path: Path) -> None:
    """The CLI as a user runs it: train (with trading evaluation), list, promote, show, check-lookahead."""
    from typer.testing import CliRunner

    from dopebot.cli import app
    from dopebot.feeds.history import write_candles

    data = tmp_path / "BTC_USDT-1m.parquet"
    write_candles(data, FRAME)
    config = tmp_path / "config.toml"
    config.write_text(f'[bot]\nstate_file = "{tmp_path / "state.sqlite"}"\n'
                      f'[models]\nmodels_dir = "{tmp_path / "models"}"\ntrain_threads = 1\n')
    runner = CliRunner()
    report = tmp_path / "report.json"
    trained = runner.invoke(app, ["train", "-c", str(config), "--data", str(data), "--folds", "3", "--horizon",
                                  "30", "--tp", "0.003", "--sl", "0.003", "--json-out", str(report)])
    assert trained.exit_code == 0, trained.output
    result = json.loads(report.read_text())
    model_id = result["model_id"]
    assert len(result["folds"]) == 3 and 0.4 < result["overall"]["auc"] < 1.0
    assert set(result["trading"]) == {"lgbm_threshold", "random_entry", "sma_cross", "buy_and_hold"}
    assert result["trading"]["random_entry"]["trades"] >= result["trading"]["lgbm_threshold"]["trades"] > 0
    for row in result["trading"].values():
        assert row["net_per_trade"] < row["gross_per_trade"]  # fees and slippage are charged
    assert model_id in runner.invoke(app, ["models", "list", "-c", str(config)]).output
    assert runner.invoke(app, ["models", "promote", model_id, "-c", str(config)]).exit_code == 0
    shown = runner.invoke(app, ["models", "show", model_id, "-c", str(config)])
    assert "champion" in shown.output and "promoted" in shown.output
    check = runner.invoke(app, ["check-lookahead", "-c", str(config), "--data", str(data), "--model", model_id,
                                "--cuts", "3"])
    assert check.exit_code == 0, check.output
    missing = runner.invoke(app, ["models", "retire", "lgbm-nope", "-c", str(config)])
    assert missing.exit_code == 2 and "not in the registry" in missing.output


def test_regression_label_trains_and_predicts_returns(tmp_path: Path) -> None:
    spec = LabelSpec(kind="regression", horizon=30, fee=0.0005)
    request = TrainRequest("BTC/USDT", "1m", 60_000, spec, WalkForwardConfig(folds=2, threads=1), tmp_path,
                           created_ms=0)
    outcome = train_model(request, FRAME)
    overall = outcome.card["validation"]["overall"]
    assert {"mae", "r2", "directional_accuracy"} <= overall.keys() and 0.3 < overall["directional_accuracy"] < 0.7
    model = load_model(tmp_path, outcome.model_id)
    assert model.kind == "return" and model.horizon == 30
    predictions = predict_frame(model, FRAME)
    assert np.isfinite(predictions[720:]).all() and np.abs(predictions[720:]).max() < 0.1
