"""Lookahead check: a value computed at row t must not change when candles after t are removed. We
recompute features (and model decisions) on data truncated at random cut points and compare every row
with the full-data values; any difference means something reads the future."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

FeatureFunction = Callable[[pd.DataFrame], pd.DataFrame]
DecisionFunction = Callable[[pd.DataFrame], np.ndarray]


@dataclass
class LookaheadReport:
    """Which features (and whether decisions) differed between truncated and full data, and where first."""

    cuts: list[int]
    feature_mismatches: dict[str, int] = field(default_factory=dict)
    first_mismatch: dict[str, int] = field(default_factory=dict)
    decision_mismatches: int = 0

    @property
    def clean(self) -> bool:
        return not self.feature_mismatches and self.decision_mismatches == 0


def cut_points(rows: int, count: int, seed: int, minimum: int) -> list[int]:
    """`count` distinct random prefix lengths in [minimum, rows), seeded; the last row is always one."""
    if rows - minimum < 2:
        return []
    rng = np.random.default_rng(seed)
    picks = rng.choice(np.arange(minimum, rows - 1), size=min(count - 1, rows - 1 - minimum), replace=False)
    return sorted({int(p) for p in picks} | {rows - 1})


def _differs(truncated: np.ndarray, full: np.ndarray, rtol: float) -> np.ndarray:
    """Row mask: NaN on one side only, or values apart by more than rtol (relative)."""
    nan_t, nan_f = np.isnan(truncated), np.isnan(full)
    close = np.isclose(truncated, full, rtol=rtol, atol=0.0)
    return (nan_t != nan_f) | (~nan_t & ~nan_f & ~close)


def check_lookahead(frame: pd.DataFrame, compute: FeatureFunction, cuts: list[int],
                    decide: DecisionFunction | None = None, rtol: float = 1e-12) -> LookaheadReport:
    """Compare each prefix frame.iloc[:cut] with the full frame's first `cut` rows."""
    full = compute(frame)
    full_decisions = decide(frame) if decide else None
    report = LookaheadReport(cuts)
    for cut in cuts:
        prefix = frame.iloc[:cut]
        values = compute(prefix)
        for name in full.columns:
            bad = _differs(values[name].to_numpy(dtype=float), full[name].to_numpy(dtype=float)[:cut], rtol)
            if bad.any():
                report.feature_mismatches[name] = report.feature_mismatches.get(name, 0) + int(bad.sum())
                first = int(np.argmax(bad))
                report.first_mismatch[name] = min(report.first_mismatch.get(name, first), first)
        if decide is not None and full_decisions is not None:
            report.decision_mismatches += int((decide(prefix) != full_decisions[:cut]).sum())
    return report
