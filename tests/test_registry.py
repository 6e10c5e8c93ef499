"""Registry statuses and audit trail: promote demotes the old champion to challenger, every change logged."""

from __future__ import annotations

from pathlib import Path

import pytest

from dopebot.core.errors import UsageError
from dopebot.models import registry
from dopebot.store.db import open_store


def card(model_id: str, created: int) -> dict[str, object]:
    return {"id": model_id, "sha256": "ab" * 32, "created": created, "features": ["ret_1"], "threshold": 0.3}


def test_promote_retire_and_audit(tmp_path: Path) -> None:
    db = open_store(tmp_path / "state.sqlite")
    assert registry.register(db, card("m1", 1), "m1.txt", 10)
    assert registry.register(db, card("m2", 2), "m2.txt", 11)
    assert not registry.register(db, card("m1", 1), "m1.txt", 12)  # same model trained twice: one row
    assert [m["status"] for m in registry.list_models(db)] == ["candidate", "candidate"]
    assert registry.promote(db, "m1", 20) is None
    assert registry.champion(db) == "m1"
    assert registry.promote(db, "m2", 30, "better precision") == "m1"
    assert {m["id"]: m["status"] for m in registry.list_models(db)} == {"m1": "challenger", "m2": "champion"}
    registry.retire(db, "m2", 40)
    assert registry.champion(db) is None
    trail = [(e["time"], e["old_status"], e["new_status"], e["note"]) for e in registry.events(db, "m1")]
    assert trail == [(10, None, "candidate", "trained"), (20, "candidate", "champion", "promoted"),
                     (30, "champion", "challenger", "replaced by m2")]
    assert [e["new_status"] for e in registry.events(db, "m2")] == ["candidate", "champion", "retired"]
    assert registry.get(db, "m2")["card"]["threshold"] == 0.3
    with pytest.raises(UsageError, match="not in the registry"):
        registry.promote(db, "nope", 50)
