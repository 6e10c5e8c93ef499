"""Model runners publish one prediction per closed candle on predictions/{model_id}/... Every runner sees
every candle; which prediction acts is the trader's rendezvous, not the runner's business."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from itertools import repeat
from typing import Any, Protocol

import numpy as np

from dopebot.core import topics
from dopebot.core.clock import monotonic_ns
from dopebot.core.types import Candle, Prediction


class IncrementalModel(Protocol):
    def update(self, candle: Candle) -> float: ...


class LiveModelRunner:
    """Computes a prediction per candle (paper/live); records its latency."""

    def __init__(self, model_id: str, venue: str, symbol: str, horizon: int, kind: str, model: IncrementalModel,
                 publish: Callable[[str, Any], None]) -> None:
        self.model_id = model_id
        self._topic = topics.predictions(model_id, venue, symbol)
        self._symbol, self._horizon, self._kind = symbol, horizon, kind
        self._update = model.update
        self._publish = publish

    def on_candle(self, candle: Candle) -> None:
        started = monotonic_ns()
        value = self._update(candle)
        if math.isnan(value):
            return
        latency_us = (monotonic_ns() - started) / 1000.0
        self._publish(self._topic, Prediction(self.model_id, self._symbol, candle.time, self._horizon, value,
                                              self._kind, latency_us))


class RecordedPredictions:
    """A model's predictions computed in batch over history (backtest): what its runner would have published
    after each candle. The replay hands them to the bus beside the candles (`Bus.publish_each` followers), one
    item per candle, None where the model has nothing to say (warming up, or inputs missing), so no runner
    call and no queued message per candle: the trader meets them exactly as it meets a remote runner's."""

    def __init__(self, model_id: str, venue: str, symbol: str, horizon: int, kind: str, values: np.ndarray,
                 times: np.ndarray) -> None:
        if len(values) != len(times):
            raise ValueError(f"model {model_id}: {len(values)} predictions for {len(times)} candles")
        self.model_id = model_id
        self.topic = topics.predictions(model_id, venue, symbol)
        self._symbol, self._horizon, self._kind = symbol, horizon, kind
        self._values, self._times = values, times

    def chunk(self, start: int, stop: int) -> Iterator[Prediction | None]:
        """The items for candles [start, stop), built in C from the arrays."""
        values = self._values[start:stop]
        rows = zip(repeat(self.model_id), repeat(self._symbol), self._times[start:stop].tolist(),
                   repeat(self._horizon), values.tolist(), repeat(self._kind), repeat(0.0))
        made = map(tuple.__new__, repeat(Prediction), rows)
        if not np.isnan(values).any():
            return made
        return iter([prediction if prediction.value == prediction.value else None for prediction in made])
