"""The out-of-sample trading evaluation is stored in the model card (and the registry's copy), with the same
numbers as `train --json-out`; the model still loads and is still verified; `models show` prints it; the card
writer refuses the keys that describe how the model was made and replaces the file atomically."""

from __future__ import annotations

import json
import math
import os
import stat
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from typer.testing import CliRunner

from dopebot.cli import app
from dopebot.core.errors import ModelFileError, UsageError
from dopebot.feeds.synthetic import generate_candles
from dopebot.models import registry
from dopebot.models.artifacts import load_model
from dopebot.models.cards import RESERVED_KEYS, add_to_card
from dopebot.store.db import open_store
from tests.workspace import train_workspace

FRAME = generate_candles(6_000, seed=21)
FEE, TP, SL = 0.0005, 0.003, 0.0025
STRATEGIES = {"lgbm_threshold", "random_entry", "sma_cross", "buy_and_hold"}


def same(a: Any, b: Any) -> bool:
    """Deep equality where NaN equals NaN (a strategy without trades has NaN per-trade numbers)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("card")
    data, config = train_workspace(tmp, FRAME, FEE)
    report_path = tmp / "report.json"
    result = CliRunner().invoke(app, ["train", "-c", str(config), "--data", str(data), "--folds", "3", "--horizon",
                                      "30", "--tp", str(TP), "--sl", str(SL), "--json-out", str(report_path)])
    assert result.exit_code == 0, result.output
    report = json.loads(report_path.read_text())
    return {"tmp": tmp, "config": config, "report": report, "models": tmp / "models", "id": report["model_id"]}


def test_card_holds_the_trading_evaluation_with_the_reports_numbers(trained: dict[str, Any]) -> None:
    report = trained["report"]
    card = json.loads((trained["models"] / f"{trained['id']}.json").read_text())
    section = card["trading"]
    assert set(section["strategies"]) == STRATEGIES
    assert same(section["strategies"], report["trading"])
    for row in section["strategies"].values():
        assert {"return", "trades", "gross_per_trade", "net_per_trade", "win_rate"} <= row.keys()
    assert section["strategies"]["lgbm_threshold"]["trades"] > 0
    assert section["exits"] == report["trading_exits"]
    assert section["exits"]["barrier"] == "pct" and section["exits"]["max_hold"] == 30
    assert section["exits"]["take_profit"] == pytest.approx(TP + 2 * FEE)  # fees inside the barriers, as labelled
    assert section["exits"]["stop_loss"] == pytest.approx(SL - 2 * FEE)
    assert section["period"] == report["trading_period"]
    assert card["data"]["start"] < section["period"]["start"] < section["period"]["end"] == card["data"]["end"]
    assert section["period"]["candles"] == (section["period"]["end"] - section["period"]["start"]) // 60_000
    assert "exits at the label's barriers" in section["note"]
    db = open_store(trained["tmp"] / "state.sqlite")
    try:
        assert same(registry.get(db, trained["id"])["card"]["trading"], section)  # registered after the update
    finally:
        db.close()


def test_model_still_loads_and_is_still_verified_after_the_update(trained: dict[str, Any], tmp_path: Path) -> None:
    model = load_model(trained["models"], trained["id"])
    assert model.card["trading"]["exits"] == trained["report"]["trading_exits"]
    for name in (f"{trained['id']}.txt", f"{trained['id']}.json"):
        (tmp_path / name).write_bytes((trained["models"] / name).read_bytes())
    add_to_card(tmp_path, trained["id"], "notes", {"reviewed": True})
    assert load_model(tmp_path, trained["id"]).card["notes"] == {"reviewed": True}
    model_file = tmp_path / f"{trained['id']}.txt"
    model_file.write_text(model_file.read_text().replace("Tree=0", "Tree=0 "))
    with pytest.raises(ModelFileError, match="SHA-256"):  # the model file is still checked against the card
        load_model(tmp_path, trained["id"])


def test_models_show_prints_the_trading_section(trained: dict[str, Any]) -> None:
    shown = CliRunner().invoke(app, ["models", "show", trained["id"], "-c", str(trained["config"])])
    assert shown.exit_code == 0, shown.output
    text = " ".join(shown.output.replace("│", " ").split())
    assert "out-of-sample trading" in text and "exits at the label's barriers" in text
    for name, row in trained["report"]["trading"].items():
        assert f"{name} {row['return']:+.2%} {int(row['trades']):,} {row['gross_per_trade']:+.3%}" in text


@pytest.mark.parametrize("key", ["id", "sha256", "model_file", "features", "label", "threshold"])
def test_reserved_keys_are_refused_and_the_card_is_untouched(trained: dict[str, Any], tmp_path: Path,
                                                             key: str) -> None:
    assert key in RESERVED_KEYS
    card_file = tmp_path / f"{trained['id']}.json"
    card_file.write_bytes((trained["models"] / card_file.name).read_bytes())
    before = card_file.read_bytes()
    with pytest.raises(UsageError, match="reserved"):
        add_to_card(tmp_path, trained["id"], key, "x")
    assert card_file.read_bytes() == before


def test_card_is_replaced_atomically_keeping_its_mode(trained: dict[str, Any], tmp_path: Path) -> None:
    card_file = tmp_path / f"{trained['id']}.json"
    card_file.write_bytes((trained["models"] / card_file.name).read_bytes())
    card_file.chmod(0o640)
    inode = card_file.stat().st_ino
    card = add_to_card(tmp_path, trained["id"], "trading", {"strategies": {}})
    assert json.loads(card_file.read_text()) == json.loads(json.dumps(card))
    assert card_file.stat().st_ino != inode  # a new file renamed over the old one, not rewritten in place
    assert stat.S_IMODE(card_file.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == [card_file.name]  # no temporary file left behind
    with pytest.raises(ModelFileError, match="not found"):
        add_to_card(tmp_path, "lgbm-none", "trading", {})
    with pytest.raises(TypeError):  # not JSON: nothing is written
        add_to_card(tmp_path, trained["id"], "trading", {"bad": object()})
    assert json.loads(card_file.read_text())["trading"] == {"strategies": {}}
