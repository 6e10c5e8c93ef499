"""The model registry in the bot's SQLite file: which models exist and which one trades. Promotion and
rollback are status changes with an audit row each, never a redeploy. Times are passed in (ms)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # only for hints: `champion` runs on a plain sqlite3 connection without sqlite-utils
    from sqlite_utils import Database

from dopebot.core.errors import UsageError

CANDIDATE, CHAMPION, CHALLENGER, RETIRED = "candidate", "champion", "challenger", "retired"


def _event(db: Database, model_id: str, time_ms: int, old: str | None, new: str, note: str) -> None:
    db["model_events"].insert({"model_id": model_id, "time": time_ms, "old_status": old, "new_status": new,
                               "note": note})


def register(db: Database, card: dict[str, Any], path: str | Path, time_ms: int) -> bool:
    """Add a freshly trained model as a candidate; False if that exact model (same id) is already known."""
    if db["models"].count_where("id = ?", [card["id"]]):
        return False
    with db.conn:
        db["models"].insert({"id": card["id"], "path": str(path), "sha256": card["sha256"],
                             "card": json.dumps(card, sort_keys=True), "status": CANDIDATE,
                             "created": int(card.get("created", time_ms))})
        _event(db, card["id"], time_ms, None, CANDIDATE, "trained")
    return True


def get(db: Database, model_id: str) -> dict[str, Any]:
    rows = list(db.query("SELECT * FROM models WHERE id = ?", [model_id]))
    if not rows:
        raise UsageError(f"model {model_id!r}: not in the registry (see `dopebot models list`)")
    row = rows[0]
    row["card"] = json.loads(row["card"])
    return row


def list_models(db: Database) -> list[dict[str, Any]]:
    return [{**row, "card": json.loads(row["card"])}
            for row in db.query("SELECT * FROM models ORDER BY created, id")]


def events(db: Database, model_id: str) -> list[dict[str, Any]]:
    return list(db.query("SELECT * FROM model_events WHERE model_id = ? ORDER BY id", [model_id]))


def champion(db: Database | sqlite3.Connection) -> str | None:
    """Works on a plain sqlite3 connection too, so `backtest --model champion` need not load sqlite-utils."""
    row = db.execute("SELECT id FROM models WHERE status = ?", [CHAMPION]).fetchone()
    return row[0] if row else None


def _set_status(db: Database, model_id: str, old: str, new: str, time_ms: int, note: str) -> None:
    db.execute("UPDATE models SET status = ? WHERE id = ?", [new, model_id])
    _event(db, model_id, time_ms, old, new, note)


def promote(db: Database, model_id: str, time_ms: int, note: str = "") -> str | None:
    """Make `model_id` the champion; the previous champion becomes a challenger. Returns that one's id."""
    row = get(db, model_id)
    if row["status"] == CHAMPION:
        return None
    previous = champion(db)
    with db.conn:
        if previous is not None:
            _set_status(db, previous, CHAMPION, CHALLENGER, time_ms, f"replaced by {model_id}")
        _set_status(db, model_id, row["status"], CHAMPION, time_ms, note or "promoted")
    return previous


def retire(db: Database, model_id: str, time_ms: int, note: str = "") -> None:
    """Take a model out of use for good (a retired champion leaves the bot with no champion)."""
    row = get(db, model_id)
    if row["status"] == RETIRED:
        return
    with db.conn:
        _set_status(db, model_id, row["status"], RETIRED, time_ms, note or "retired")
