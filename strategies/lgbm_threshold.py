"""Trade a trained LightGBM triple-barrier model: go long when the champion's probability that the
take-profit barrier is hit before the stop reaches `threshold` (the value chosen out-of-fold and stored
in the model card), then let the exits mirror the label the model learned: the trader's take-profit and
stop-loss orders (set them to the label's barriers in [trading]) and a time exit after `max_hold` candles
(the label horizon). With `exit_below` > 0 it also exits when the probability falls below it.

The candle counter lives on the instance, which the node builds per run, so backtest, paper and live
hold a position for the same number of candles. Use with `dopebot backtest --model ID`.
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
        max_hold: int = 60  # candles; the label horizon H. 0 disables the time exit
        exit_below: float = 0.0  # exit when p < exit_below; 0 disables
        model: str = "champion"

        def __post_init__(self) -> None:
            if not 0.0 < self.threshold <= 1.0 or not 0.0 <= self.exit_below < self.threshold:
                raise ValueError(f"need 0 <= exit_below < threshold <= 1, got {self.exit_below}, {self.threshold}")
            if self.max_hold < 0:
                raise ValueError(f"max_hold must not be negative, got {self.max_hold}")

    def __init__(self, params: Any = None) -> None:
        super().__init__(params)
        self._held = 0

    def target(self, values: tuple[Any, ...], prediction: Prediction | None, holding: bool) -> float | None:
        if holding:
            self._held += 1
            if self.params.max_hold and self._held >= self.params.max_hold:
                return FLAT
            if prediction is not None and prediction.value < self.params.exit_below:
                return FLAT
            return None
        self._held = 0
        if prediction is not None and prediction.value >= self.params.threshold:
            return LONG
        return None
