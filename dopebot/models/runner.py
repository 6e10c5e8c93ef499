"""Model runners publish one prediction per closed candle on predictions/{model_id}/... Every runner sees
every candle; which prediction acts is the trader's rendezvous, not the runner's business."""

from __future__ import annotations

import math
from collections.abc import Callable
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


class ReplayModelRunner:
    """Hands out predictions computed in batch over history (backtest), one per candle in order. The
    Prediction records are built lazily in C from the value and close-time arrays, one per candle."""

    def __init__(self, model_id: str, venue: str, symbol: str, horizon: int, kind: str, values: np.ndarray,
                 times: np.ndarray, publish: Callable[[str, Any], None]) -> None:
        if len(values) != len(times):
            raise ValueError(f"model {model_id}: {len(values)} predictions for {len(times)} candles")
        self.model_id = model_id
        self._topic = topics.predictions(model_id, venue, symbol)
        rows = zip(repeat(model_id), repeat(symbol), times.tolist(), repeat(horizon), values.tolist(), repeat(kind),
                   repeat(0.0))
        self._next = map(tuple.__new__, repeat(Prediction), rows).__next__
        self._publish = publish

    def on_candle(self, candle: Candle) -> None:
        prediction = self._next()
        if prediction.value == prediction.value:  # NaN while warming up (or inputs missing): nothing to say
            self._publish(self._topic, prediction)
