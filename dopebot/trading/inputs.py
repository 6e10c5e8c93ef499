"""A strategy's indicator values per candle, two ways: computed one candle at a time (paper, live) or read
from arrays computed in batch over history (backtest). Both expose `latest()`, which the trader calls once
per candle; tests prove both give identical values."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import repeat
from typing import Any

import numpy as np

from dopebot.core.types import Candle
from dopebot.trading.strategy import Indicator

Values = tuple[Any, ...]


class IncrementalInputs:
    """O(1) per candle per indicator; subscribed to the candle topic ahead of the trader (paper, live)."""

    __slots__ = ("_updates", "_values")

    def __init__(self, indicators: Sequence[Indicator]) -> None:
        self._updates = tuple(indicator.incremental().update for indicator in indicators)
        self._values: Values = ()

    def on_candle(self, candle: Candle) -> None:
        self._values = tuple([update(candle) for update in self._updates])

    def latest(self) -> Values:
        return self._values


class PrecomputedInputs:
    """Rows computed in batch, handed out one per candle in replay order; needs no bus subscription."""

    __slots__ = ("latest",)

    def __init__(self, rows: Iterable[Values]) -> None:
        self.latest: Callable[[], Values] = iter(rows).__next__


def batch_rows(indicators: Sequence[Indicator], columns: dict[str, np.ndarray]) -> Iterator[Values]:
    """One tuple of indicator values per candle, from each indicator's vectorised definition; the tuples are
    made as the replay asks for them (a lazy zip), not all up front."""
    if not indicators:
        return repeat((), len(columns["close"]))
    series = [list(indicator.batch(columns)) for indicator in indicators]
    if len({len(values) for values in series}) != 1:
        raise ValueError("indicators returned different numbers of values")
    return zip(*series, strict=True)
