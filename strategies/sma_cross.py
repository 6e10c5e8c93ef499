"""Long when SMA(fast) of close is above SMA(slow), flat otherwise, acting only on the crossings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dopebot.core.types import Prediction
from dopebot.market.indicators import SmaCross
from dopebot.trading.strategy import FLAT, LONG, Indicator, Strategy


class SmaCrossStrategy(Strategy):
    name = "sma_cross"

    @dataclass(frozen=True)
    class Params:
        fast: int = 20
        slow: int = 50

        def __post_init__(self) -> None:
            if not 0 < self.fast < self.slow:
                raise ValueError(f"need 0 < fast < slow, got fast={self.fast} slow={self.slow}")

    def indicators(self) -> list[Indicator]:
        return [SmaCross(self.params.fast, self.params.slow)]

    def target(self, values: tuple[Any, ...], prediction: Prediction | None, holding: bool) -> float | None:
        cross = values[0]
        if cross == 1:
            return LONG
        if cross == -1:
            return FLAT
        return None
