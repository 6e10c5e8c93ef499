"""Trade a trained LightGBM triple-barrier model: go long when the champion's probability that the
take-profit barrier is hit before the stop reaches `threshold` (the value chosen out-of-fold and stored
in the model card). The exits mirror the label the model learned and belong to the trader: take-profit
and stop-loss at the label's barriers and a time exit after the label horizon (`[trading] max_hold`);
`dopebot backtest --model ID` sets all three from the model card. With `exit_below` > 0 the strategy
also exits when the probability falls below it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dopebot.core.types import Prediction
from dopebot.trading.strategy import FLAT, LONG, Strategy


class LgbmThresholdStrategy(Strategy):
    name = "lgbm_threshold"
    uses_predictions = True

    @dataclass(frozen=True)
    class Params:
        threshold: float = 0.5  # enter at p >= threshold; take it from the model card
        exit_below: float = 0.0  # exit when p < exit_below; 0 disables
        model: str = "champion"

        def __post_init__(self) -> None:
            if not 0.0 < self.threshold <= 1.0 or not 0.0 <= self.exit_below < self.threshold:
                raise ValueError(f"need 0 <= exit_below < threshold <= 1, got {self.exit_below}, {self.threshold}")

    def target(self, values: tuple[Any, ...], prediction: Prediction | None, holding: bool) -> float | None:
        if holding:
            if prediction is not None and prediction.value < self.params.exit_below:
                return FLAT
            return None
        if prediction is not None and prediction.value >= self.params.threshold:
            return LONG
        return None
