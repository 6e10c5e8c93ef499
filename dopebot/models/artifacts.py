"""Model files on disk: a LightGBM text model plus a JSON card, never pickle. The card records what the
model needs to be trusted later (features and their version, label spec, data range and hash, params,
fold metrics, threshold, the model file's SHA-256); loading checks all of it and fails in one line.

Loading gives a NativeBooster (dopebot/models/native.py): inference never imports the lightgbm package
(and with it scipy and pandas); only saving a freshly trained lightgbm.Booster does, and the caller has it."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dopebot.core.errors import ModelFileError
from dopebot.market.features import FEATURE_SET_VERSION, feature_names
from dopebot.models.native import LightGBMError, NativeBooster

if TYPE_CHECKING:
    import lightgbm as lgb

CARD_VERSION = 1


def model_id(symbol: str, timeframe: str, sha256: str) -> str:
    """Deterministic id: same data + config + seed -> same model bytes -> same id."""
    slug = symbol.replace("/", "-").replace(":", "-")
    return f"lgbm-{slug}-{timeframe}-{sha256[:8]}"


def write_atomic(path: Path, text: str) -> None:
    """Write a unique temporary file beside `path` (same file system), flush it, then os.replace: a crash
    leaves the old file or the new one, never half. An existing file keeps its mode."""
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, mode)  # mkstemp makes 0600
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def save_model(booster: lgb.Booster, card: dict[str, Any],
               models_dir: str | Path) -> tuple[dict[str, Any], Path]:
    """Write `<id>.txt` and `<id>.json`; returns the full card (with id, sha256, model_file) and its path."""
    directory = Path(models_dir)
    directory.mkdir(parents=True, exist_ok=True)
    text = booster.model_to_string(num_iteration=-1)
    digest = sha256_text(text)
    identifier = model_id(card["symbol"], card["timeframe"], digest)
    model_path = directory / f"{identifier}.txt"
    write_atomic(model_path, text)
    full_card = {"card_version": CARD_VERSION, "id": identifier, "model_file": model_path.name, "sha256": digest,
                 **card}
    card_path = directory / f"{identifier}.json"
    write_atomic(card_path, json.dumps(full_card, indent=2, sort_keys=True, default=jsonable))
    return full_card, card_path


def jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


@dataclass
class LoadedModel:
    """A verified model ready to predict; `threads` is the inference thread count from config."""

    id: str
    card: dict[str, Any]
    booster: NativeBooster
    names: tuple[str, ...]
    threads: int

    @property
    def threshold(self) -> float:
        return float(self.card.get("threshold", 0.5))

    @property
    def kind(self) -> str:
        return "return" if self.card["label"]["kind"] == "regression" else "probability"

    @property
    def secondary(self) -> bool:
        return bool(self.card.get("secondary_symbol"))

    @property
    def horizon(self) -> int:
        return int(self.card["label"]["horizon"])


def read_card(path: Path) -> dict[str, Any]:
    try:
        card = json.loads(path.read_text())
    except FileNotFoundError:
        raise ModelFileError(f"{path}: model card not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ModelFileError(f"{path}: model card is not valid JSON ({error})") from None
    if not isinstance(card, dict) or not {"id", "model_file", "sha256", "features"} <= card.keys():
        raise ModelFileError(f"{path}: model card lacks id, model_file, sha256 or features")
    return card


def load_model(models_dir: str | Path, identifier: str, threads: int = 1) -> LoadedModel:
    """Load `<models_dir>/<id>.json` and its model file, verifying hash, feature names and version."""
    card_path = Path(models_dir) / f"{identifier}.json"
    card = read_card(card_path)
    model_path = card_path.parent / card["model_file"]
    try:
        text = model_path.read_text()
    except (FileNotFoundError, UnicodeDecodeError) as error:
        raise ModelFileError(f"{model_path}: cannot read model file ({type(error).__name__})") from None
    if sha256_text(text) != card["sha256"]:
        raise ModelFileError(f"{model_path}: SHA-256 does not match the card (file changed or corrupt)")
    try:
        booster = NativeBooster(text)
    except LightGBMError as error:
        raise ModelFileError(f"{model_path}: not a LightGBM model ({error.reason})") from None
    _check_features(model_path, card, tuple(booster.feature_name()))
    return LoadedModel(card["id"], card, booster, tuple(card["features"]), threads)


def _check_features(path: Path, card: dict[str, Any], in_model: tuple[str, ...]) -> None:
    expected = feature_names(bool(card.get("secondary_symbol")))
    version = str(card.get("feature_set", "")).split("+")[0]
    if version != FEATURE_SET_VERSION:
        raise ModelFileError(f"{path}: built for feature set {version!r}, this dopebot computes "
                             f"{FEATURE_SET_VERSION!r}")
    if in_model != tuple(card["features"]) or in_model != expected:
        raise ModelFileError(f"{path}: feature names differ from the card or from feature set "
                             f"{FEATURE_SET_VERSION}")
