"""DOPE-style threshold policy on the champion model's prediction: enter when it reaches `upper`, exit when
it falls to `lower`, hold in between. Runs on any model that publishes probabilities or scores in [0, 1];
with no trained model it uses the built-in `momentum` baseline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dopebot.core.types import Prediction
from dopebot.trading.strategy import FLAT, LONG, Strategy


class ThresholdStrategy(Strategy):
    name = "threshold"
    uses_predictions = True

    @dataclass(frozen=True)
    class Params:
        upper: float = 0.6
        lower: float = 0.45
        model: str = "momentum"  # model id whose predictions drive trading (the champion)

        def __post_init__(self) -> None:
            if not 0.0 <= self.lower < self.upper <= 1.0:
                raise ValueError(f"need 0 <= lower < upper <= 1, got lower={self.lower} upper={self.upper}")

    def target(self, values: tuple[Any, ...], prediction: Prediction | None, holding: bool) -> float | None:
        if prediction is None:
            return None
        if prediction.value >= self.params.upper:
            return LONG
        if prediction.value <= self.params.lower:
            return FLAT
        return None
