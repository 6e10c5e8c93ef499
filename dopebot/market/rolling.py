"""O(1)-per-candle building blocks for incremental features, each mirroring the arithmetic of the pandas
call the batch path uses (rolling sum with Kahan add/remove, ewm(adjust=False), rolling max/min), so the
two paths agree to rounding and the test can demand 1e-9 relative equality."""

from __future__ import annotations

import math
from collections import deque


class Lag:
    """The value seen `lag` updates ago (None until that many values were seen): returns over k candles."""

    __slots__ = ("_buffer", "_lag")

    def __init__(self, lag: int) -> None:
        self._lag = lag
        self._buffer: deque[float] = deque(maxlen=lag + 1)

    def update(self, value: float) -> float | None:
        self._buffer.append(value)
        return self._buffer[0] if len(self._buffer) > self._lag else None


class WindowSum:
    """Sum of the last `window` values with compensated add and remove, like pandas' rolling().sum().

    A window made of one repeated value returns value * count exactly (as pandas does), so flat
    stretches give exact zeros instead of rounding residue."""

    __slots__ = ("_add_comp", "_buffer", "_prev", "_remove_comp", "_same", "_sum", "_window")

    def __init__(self, window: int) -> None:
        self._window = window
        self._buffer: deque[float] = deque()
        self._sum = 0.0
        self._add_comp = 0.0
        self._remove_comp = 0.0
        self._same = 0
        self._prev = math.nan

    def update(self, value: float) -> float | None:
        buffer = self._buffer
        if len(buffer) == self._window:
            y = -buffer.popleft() - self._remove_comp
            t = self._sum + y
            self._remove_comp = t - self._sum - y
            self._sum = t
        buffer.append(value)
        y = value - self._add_comp
        t = self._sum + y
        self._add_comp = t - self._sum - y
        self._sum = t
        self._same = self._same + 1 if value == self._prev else 1
        self._prev = value
        if len(buffer) < self._window:
            return None
        return value * self._window if self._same >= self._window else self._sum


class Ema:
    """Exponential mean with pandas' ewm(alpha, adjust=False) arithmetic; starts at the first value."""

    __slots__ = ("_alpha", "_decay", "value")

    def __init__(self, alpha: float) -> None:
        self._alpha = alpha
        self._decay = 1.0 - alpha
        self.value = math.nan

    def update(self, x: float) -> float:
        value = self.value
        if value != value:  # first observation (NaN check without a call)
            self.value = x
        elif value != x:
            self.value = (self._decay * value + self._alpha * x) / (self._decay + self._alpha)
        return self.value


class WindowExtreme:
    """Rolling max (or min) of the last `window` values with a monotonic deque: amortised O(1)."""

    __slots__ = ("_count", "_items", "_sign", "_window")

    def __init__(self, window: int, maximum: bool = True) -> None:
        self._window = window
        self._sign = 1.0 if maximum else -1.0
        self._items: deque[tuple[int, float]] = deque()
        self._count = 0

    def update(self, value: float) -> float | None:
        keyed = self._sign * value
        items = self._items
        while items and items[-1][1] <= keyed:
            items.pop()
        items.append((self._count, keyed))
        self._count += 1
        if items[0][0] < self._count - self._window:
            items.popleft()
        if self._count < self._window:
            return None
        return self._sign * items[0][1]
