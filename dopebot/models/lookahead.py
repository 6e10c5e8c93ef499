"""Lookahead check: a value computed at row t must not change when candles after t are removed. We
recompute features (and model decisions), or a strategy's indicators and decisions, on data truncated at
random cut points and compare every row with the full-data values; any difference means something reads
the future."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from dopebot.core.errors import StrategyError

if TYPE_CHECKING:
    from dopebot.trading.strategy import Strategy

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


COLUMNS = ("open", "high", "low", "close", "volume")


@dataclass
class StrategyLookaheadReport:
    """Per indicator (and per decision mode) how many rows changed over all cuts and the first such row.
    Every indicator has an entry, 0 when clean, so a report lists what was checked."""

    strategy: str
    cuts: list[int]
    mismatches: dict[str, int] = field(default_factory=dict)
    first_mismatch: dict[str, int] = field(default_factory=dict)
    decision_mismatches: dict[str, int] = field(default_factory=dict)  # "flat" / "holding" -> rows
    first_decision_mismatch: dict[str, int] = field(default_factory=dict)

    @property
    def leaky_indicators(self) -> list[str]:
        return [name for name, count in self.mismatches.items() if count]

    @property
    def clean(self) -> bool:
        return not self.leaky_indicators and not any(self.decision_mismatches.values())


def indicator_names(strategy: Strategy) -> list[str]:
    """Each indicator's name, numbered when two share one, so every row of the report is unambiguous."""
    names = [str(getattr(indicator, "name", type(indicator).__name__)) for indicator in strategy.indicators()]
    return [f"{name}#{i + 1}" if names.count(name) > 1 else name for i, name in enumerate(names)]


def strategy_values(strategy: Strategy, columns: dict[str, np.ndarray]) -> list[list[Any]]:
    """Each indicator's batch values over copies of the columns (an indicator that writes into its input
    cannot disturb the next computation); the interface requires one value per candle."""
    rows = len(columns["close"])
    names = indicator_names(strategy)
    result = []
    for name, indicator in zip(names, strategy.indicators(), strict=True):
        values = list(indicator.batch({key: columns[key].copy() for key in COLUMNS}))
        if len(values) != rows:
            raise StrategyError(f"strategy {strategy.name}: indicator {name} returned {len(values)} values for "
                                f"{rows} candles")
        result.append(values)
    return result


def warm_up(values: list[list[Any]]) -> int:
    """First row where every indicator has a value (None during warm-up); 0 without indicators."""
    firsts = [next((i for i, v in enumerate(column) if v is not None), len(column)) for column in values]
    return max(firsts, default=0)


def _as_floats(values: list[Any]) -> np.ndarray | None:
    """Numeric values as floats (None -> NaN), or None when the values are not numbers."""
    try:
        array = np.array([np.nan if v is None else v for v in values], dtype=float)
    except (TypeError, ValueError):
        return None
    return array if array.ndim == 1 else None


def _values_differ(truncated: list[Any], full: list[Any], rtol: float) -> np.ndarray:
    t, f = _as_floats(truncated), _as_floats(full)
    if t is not None and f is not None:
        return _differs(t, f, rtol)
    return np.array([(a is None) != (b is None) or bool(np.any(a != b)) for a, b in zip(truncated, full,
                                                                                      strict=True)])


def _decisions(strategy: Strategy, rows: list[tuple[Any, ...]], holding: bool) -> list[float | None]:
    target = strategy.target
    try:
        return [target(row, None, holding) for row in rows]
    except Exception as error:
        raise StrategyError(f"strategy {strategy.name}: target() raised {type(error).__name__}: {error}") from None


def check_strategy_lookahead(strategy: Strategy, columns: dict[str, np.ndarray], cuts: list[int],
                             rtol: float = 1e-12) -> StrategyLookaheadReport:
    """Compare each indicator's values on every prefix columns[:cut] with the full-data values at rows < cut,
    and the strategy's decisions `target(values, None, holding)` for holding False and True at those rows."""
    names = indicator_names(strategy)
    full = strategy_values(strategy, columns)
    full_rows = list(zip(*full, strict=True)) if full else [()] * len(columns["close"])
    modes = {"flat": False, "holding": True}
    full_decisions = {mode: _decisions(strategy, full_rows, holding) for mode, holding in modes.items()}
    report = StrategyLookaheadReport(strategy.name, cuts, dict.fromkeys(names, 0), {}, dict.fromkeys(modes, 0), {})
    for cut in cuts:
        prefix = strategy_values(strategy, {key: columns[key][:cut] for key in COLUMNS})
        for name, values, reference in zip(names, prefix, full, strict=True):
            _count(report.mismatches, report.first_mismatch, name, _values_differ(values, reference[:cut], rtol))
        rows = list(zip(*prefix, strict=True)) if prefix else [()] * cut
        for mode, holding in modes.items():
            decided = _decisions(strategy, rows, holding)
            bad = np.array([(a is None) != (b is None) or (a is not None and a != b)
                            for a, b in zip(decided, full_decisions[mode][:cut], strict=True)], dtype=bool)
            _count(report.decision_mismatches, report.first_decision_mismatch, mode, bad)
    return report


def _count(counts: dict[str, int], firsts: dict[str, int], name: str, bad: np.ndarray) -> None:
    if bad.any():
        counts[name] += int(bad.sum())
        first = int(np.argmax(bad))
        firsts[name] = min(firsts.get(name, first), first)
