"""Purged walk-forward splits. Training rows always come before the test block, and every training row
whose label window (t+1 .. t+H) could reach into the test block is removed, plus an embargo of at least
H candles, so no test outcome leaks into training. Early stopping uses a purged tail of the training
period, never the test block."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dopebot.core.errors import UsageError


@dataclass(frozen=True)
class Fold:
    """Row numbers into the sample arrays (not candle positions)."""

    number: int
    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray


def _before(positions: np.ndarray, rows: np.ndarray, limit: int) -> np.ndarray:
    """The rows among `rows` whose candle position is below `limit`."""
    return rows[positions[rows] < limit]


def walk_forward(positions: np.ndarray, folds: int, horizon: int, embargo: int = 0, mode: str = "expanding",
                 valid_fraction: float = 0.1) -> list[Fold]:
    """Split samples at candle `positions` (ascending) into `folds` test blocks after one training block.

    `embargo` below the label horizon is raised to it. `mode` "rolling" keeps the training window to the
    length of one block; "expanding" keeps everything before the test block."""
    if mode not in ("expanding", "rolling"):
        raise UsageError(f"walk-forward mode {mode!r}: expected expanding or rolling")
    if folds < 1:
        raise UsageError("need at least one fold")
    gap = max(embargo, horizon)
    n = len(positions)
    edges = np.linspace(0, n, folds + 2).astype(int)
    result = []
    for number in range(folds):
        test = np.arange(edges[number + 1], edges[number + 2])
        if len(test) == 0:
            raise UsageError(f"too little data for {folds} folds")
        first = edges[number] if mode == "rolling" else 0
        candidates = _before(positions, np.arange(first, test[0]), int(positions[test[0]]) - gap)
        split = int(len(candidates) * (1 - valid_fraction))
        valid = candidates[split:]
        train = candidates[:split]
        if len(valid):
            train = _before(positions, train, int(positions[valid[0]]) - gap)
        if len(train) < 100 or len(valid) < 10:
            raise UsageError(f"fold {number + 1}: too few training rows after purging ({len(train)})")
        result.append(Fold(number + 1, train, valid, test))
    return result
