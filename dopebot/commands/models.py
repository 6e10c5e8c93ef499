"""`dopebot models list | show ID | promote ID | retire ID`: the registry in the bot's state file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from dopebot.core.config import Settings
from dopebot.core.timeframes import iso
from dopebot.models import registry
from dopebot.store.db import open_store


def _metric(card: dict, name: str) -> str:
    value = card.get("validation", {}).get("overall", {}).get(name)
    return f"{value:.3f}" if isinstance(value, float) else "-"


def list_models(settings: Settings) -> None:
    db = open_store(settings.bot.state_file)
    table = Table(title="models")
    for column in ("id", "status", "created", "label", "data", "AUC", "P@R", "threshold"):
        table.add_column(column, no_wrap=True)
    for row in registry.list_models(db):
        card = row["card"]
        label = card.get("label", {})
        data = card.get("data", {})
        span = f"{iso(data['start'])[:10]} .. {iso(data['end'])[:10]}" if "start" in data else "-"
        table.add_row(row["id"], row["status"], iso(row["created"]),
                      f"{label.get('kind', '?')} H={label.get('horizon', '?')}", span, _metric(card, "auc"),
                      _metric(card, "precision_at_recall"), f"{card.get('threshold', float('nan')):.4f}")
    console = Console()
    console.width = max(console.width, 150)  # ids and dates are never cut; a narrow terminal wraps instead
    console.print(table)


def _trading_section(row: dict[str, Any]) -> dict[str, Any] | None:
    """The card's out-of-sample trading section: from the card file beside the model when it is there and
    is this model's (it is the one `train` updates), else from the registry's copy of the card."""
    card_path = Path(row["path"]).with_suffix(".json")
    try:
        card = json.loads(card_path.read_text())
    except (OSError, ValueError):
        card = None
    if not isinstance(card, dict) or card.get("id") != row["id"] or card.get("sha256") != row["sha256"]:
        card = row["card"]
    section = card.get("trading")
    return section if isinstance(section, dict) and section.get("strategies") else None


def show(settings: Settings, model_id: str) -> None:
    db = open_store(settings.bot.state_file)
    row = registry.get(db, model_id)
    console = Console()
    console.print(f"[bold]{model_id}[/bold]  status {row['status']}  file {row['path']}  sha256 {row['sha256']}")
    console.print_json(json.dumps(row["card"], default=str))
    trading = _trading_section(row)
    if trading is not None:
        from dopebot.commands.train_trading import trading_table

        console.width = max(console.width, 110)  # numbers and the exits note wrap rather than get cut
        console.print(trading_table(trading))
    table = Table(title="history")
    for column in ("time", "from", "to", "note"):
        table.add_column(column)
    for event in registry.events(db, model_id):
        table.add_row(iso(event["time"]), event["old_status"] or "-", event["new_status"], event["note"])
    console.print(table)


def promote(settings: Settings, model_id: str, now_ms: int) -> None:
    db = open_store(settings.bot.state_file)
    previous = registry.promote(db, model_id, now_ms)
    demoted = f"; {previous} is now a challenger" if previous else ""
    Console().print(f"{model_id} is the champion{demoted}")


def retire(settings: Settings, model_id: str, now_ms: int) -> None:
    db = open_store(settings.bot.state_file)
    registry.retire(db, model_id, now_ms)
    Console().print(f"{model_id} retired")
