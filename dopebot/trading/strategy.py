"""The strategy interface: one pure decision per closed candle, from declared inputs.

A strategy declares its indicators (each computed two ways from one definition: vectorised over history
for backtests, one candle at a time for paper/live; a test proves both give the same values) and says
whether it trades on model predictions. `target` is the only decision point and is the same code in
backtest, paper and live.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import numpy as np

from dopebot.core.types import Candle, Prediction

LONG = 1.0
FLAT = 0.0


class IncrementalIndicator(Protocol):
    """O(1) per candle; returns the value for the candle just closed (None during warm-up)."""

    def update(self, candle: Candle) -> Any: ...


class Indicator(Protocol):
    """One named strategy input with a batch and an incremental form that must agree exactly."""

    name: str

    def batch(self, columns: dict[str, np.ndarray]) -> Sequence[Any]:
        """Values for every candle from columns open/high/low/close/volume; None during warm-up."""
        ...

    def incremental(self) -> IncrementalIndicator: ...


class Strategy:
    """Base class for strategies in strategies/. Subclasses set `name`, a `Params` dataclass, and `target`.

    target(values, prediction, holding) -> LONG (1.0), FLAT (0.0), or None to keep the current position.
    `values` holds the indicator values in the order of `indicators()`; `prediction` is the champion model's
    prediction for this candle (only for strategies with `uses_predictions = True`), else None.
    """

    name: ClassVar[str] = "base"
    uses_predictions: ClassVar[bool] = False

    @dataclass(frozen=True)
    class Params:
        pass

    def __init__(self, params: Any = None) -> None:
        self.params = params if params is not None else self.Params()

    def indicators(self) -> list[Indicator]:
        return []

    def target(self, values: tuple[Any, ...], prediction: Prediction | None, holding: bool) -> float | None:
        raise NotImplementedError
