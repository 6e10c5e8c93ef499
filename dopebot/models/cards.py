"""Add a section to a saved model card after training (e.g. the out-of-sample trading evaluation).

Only the model file is hashed (the card stores its SHA-256), so adding a card section keeps the model
loadable. The keys that identify, verify or describe how the model was made are reserved: rewriting them
after the fact would make the card lie, so they can only be written by `save_model`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dopebot.core.errors import ModelFileError, UsageError
from dopebot.models.artifacts import jsonable, read_card, write_atomic

RESERVED_KEYS = frozenset({
    "card_version", "id", "model_file", "sha256", "features", "feature_set", "label", "symbol", "timeframe",
    "secondary_symbol", "params", "rounds", "data", "validation", "threshold", "created", "tuning",
})


def add_to_card(models_dir: str | Path, model_id: str, key: str, value: Any) -> dict[str, Any]:
    """Set `key` in `<models_dir>/<model_id>.json` (replacing an earlier value of that key) and return the
    new card. The file is replaced atomically, so a crash leaves the old card or the new one, never half."""
    if key in RESERVED_KEYS:
        raise UsageError(f"model card key {key!r} is reserved (it records how the model was made)")
    path = Path(models_dir) / f"{model_id}.json"
    card = read_card(path)
    if card["id"] != model_id:
        raise ModelFileError(f"{path}: card belongs to {card['id']!r}, not {model_id!r}")
    card[key] = value
    text = json.dumps(card, indent=2, sort_keys=True, default=jsonable)  # before touching the disk
    write_atomic(path, text)
    return card
