"""Building blocks of the features, each in two forms that give bit-identical results: an O(1)-per-candle
class for paper/live (Lag, WindowSum, Ema, WindowExtreme) and a vectorised numpy twin for train and backtest
(window_sums, window_extremes, emas). Identical bits, not just close values, because several features subtract
nearly equal numbers (close_rel, vol_z, macd): one ulp of difference in a mean or an EMA becomes a relative
error far above the 1e-9 the batch == incremental test demands.

So every definition is chosen to be computable the same way both ways:
- a window sum is the sum of the previous aligned block's suffix and the current block's prefix (blocks of
  `window` values counted from the first value): a function of the window's values and their position only,
  never of the whole history as a running (even compensated) sum is;
- an EMA is the sequential recurrence itself; the batch twin runs it on all blocks of the series at once from
  approximate starting states and repeats the blocks whose start turns out different until every block starts
  from its predecessor's exact end (EMAs forget their start, so trajectories merge within a few hundred steps);
- a rolling max/min is exact in any order.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from itertools import accumulate

import numpy as np


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
    """Sum of the last `window` values: suffix of the previous aligned block + prefix of the current one, both
    summed left to right (suffixes right to left) exactly as `window_sums` does. A window made of one repeated
    value returns value * window exactly, so flat stretches give exact zeros and exact means."""

    __slots__ = ("_block", "_count", "_prefix", "_prev", "_same", "_suffixes", "_window")

    def __init__(self, window: int) -> None:
        self._window = window
        self._block: list[float] = []
        self._suffixes: list[float] = []  # of the last complete block: [j] = sum of its last j + 1 values
        self._prefix = 0.0
        self._count = 0
        self._same = 0
        self._prev = math.nan

    def update(self, value: float) -> float | None:
        block = self._block
        if block:
            self._prefix += value
        else:
            self._prefix = value
        block.append(value)
        self._count += 1
        self._same = self._same + 1 if value == self._prev else 1
        self._prev = value
        window = self._window
        position = len(block) - 1
        if position == window - 1:  # a block is complete: the window is exactly that block
            total = self._prefix
            self._suffixes = list(accumulate(reversed(block)))
            self._block = []
        elif self._count < window:
            return None
        else:
            total = self._suffixes[window - 2 - position] + self._prefix
        return value * window if self._same >= window else total


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


# ---------------------------------------------------------------- batch twins --------------------------


def window_sum(values: np.ndarray, window: int, out: np.ndarray | None = None,
               runs: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """What WindowSum returns when fed `values` from the first one, for every value (NaN before the window is
    full). O(n): prefix and suffix sums inside aligned blocks, then one addition per row. `runs` (from
    constant_runs) can be shared by several windows over the same values."""
    values = np.asarray(values, dtype=np.float64)
    sums = np.empty(len(values)) if out is None else out
    if len(values) < window:
        sums[:] = np.nan
        return sums
    grid = _columns_of_blocks(values, window, 0.0)  # (window, blocks): row r = r-th value of each block
    suffix = _scan(grid[:, :-1], np.add, reverse=True)  # [r, b]: sum of block b's values r..window-1
    prefix = _scan(grid, np.add, out=grid)
    prefix[:-1, 1:] += suffix[1:]  # the window ending at row r of block b: suffix of b-1 + prefix of b
    _rows_of_blocks(prefix, sums)
    sums[: window - 1] = np.nan
    _constant_windows(values, sums, window, constant_runs(values) if runs is None else runs)
    return sums


def constant_runs(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start (inclusive) and end (exclusive) of each run of equal consecutive values."""
    breaks = np.flatnonzero(values[1:] != values[:-1]) + 1
    return np.concatenate(([0], breaks)), np.concatenate((breaks, [len(values)]))


def _constant_windows(values: np.ndarray, sums: np.ndarray, window: int,
                      runs: tuple[np.ndarray, np.ndarray]) -> None:
    """WindowSum's rule for a window of one repeated value: value * window, exactly."""
    starts, ends = runs
    long = (ends - starts) >= window
    if not long.any():
        return
    delta = np.zeros(len(values) + 1, dtype=np.int32)
    delta[starts[long] + window - 1] += 1
    delta[ends[long]] -= 1
    inside = np.cumsum(delta[:-1]) > 0
    sums[inside] = values[inside] * window


def window_extremes(values: np.ndarray, window: int, maximum: bool) -> np.ndarray:
    """What WindowExtreme returns for every value (NaN before the window is full): van Herk / Gil-Werman,
    the larger of the previous block's suffix extreme and the current block's prefix extreme."""
    values = np.asarray(values, dtype=np.float64)
    out = np.full(len(values), np.nan)
    if len(values) < window or len(values) == 0:
        return out
    pick = np.maximum if maximum else np.minimum
    grid = _columns_of_blocks(values, window, values[-1])
    suffix = _scan(grid[:, :-1], pick, reverse=True)
    prefix = _scan(grid, pick, out=grid)
    pick(prefix[:-1, 1:], suffix[1:], out=prefix[:-1, 1:])
    _rows_of_blocks(prefix, out)
    out[: window - 1] = np.nan
    return out


def _columns_of_blocks(values: np.ndarray, window: int, pad: float) -> np.ndarray:
    """values cut into blocks of `window` (the last padded with `pad`), one block per column."""
    n = len(values)
    full, blocks = n // window, -(-n // window)
    grid = np.empty((window, blocks))
    grid[:, :full] = values[: full * window].reshape(full, window).T
    if blocks > full:
        tail = values[full * window :]
        grid[: len(tail), full] = tail
        grid[len(tail) :, full] = pad
    return grid


def _contiguous(out: np.ndarray) -> np.ndarray:
    """Outputs are filled through reshaped views, which only a contiguous array gives (else a silent copy)."""
    if not out.flags.c_contiguous:
        raise ValueError("out must be a contiguous 1-D array")
    return out


def _rows_of_blocks(grid: np.ndarray, out: np.ndarray) -> None:
    """Inverse of _columns_of_blocks (drops the padding)."""
    window, blocks = grid.shape
    n = len(_contiguous(out))
    full = n // window
    out[: full * window].reshape(full, window)[:] = grid[:, :full].T
    if blocks > full:
        out[full * window :] = grid[: n - full * window, full]


def _scan(grid: np.ndarray, ufunc: np.ufunc, reverse: bool = False, out: np.ndarray | None = None) -> np.ndarray:
    """Running ufunc down each column, one vector operation per row: every block's prefix (or, reversed, its
    suffix), combined in the order WindowSum adds them. (ufunc.accumulate along the short axis is several
    times slower: it walks each block on its own.)"""
    out = np.empty_like(grid) if out is None else out
    last = grid.shape[0] - 1
    if reverse:
        out[last] = grid[last]
        for row in range(last - 1, -1, -1):
            ufunc(out[row + 1], grid[row], out=out[row])
    else:
        out[0] = grid[0]
        for row in range(1, last + 1):
            ufunc(out[row - 1], grid[row], out=out[row])
    return out


class Blocks:
    """`rows` values cut into `count` blocks of `length` rows (the last one padded with its final value) and
    stored step-major, shape (length, count): row t of every block side by side, so a recurrence can advance
    all blocks with one numpy operation per step."""

    LENGTH = 1024  # ~1,000 steps per pass: enough for the slowest EMA (240) to merge, few Python iterations

    def __init__(self, rows: int, length: int | None = None) -> None:
        self.rows = rows
        blocks = max(1, rows // (length or self.LENGTH))
        self.length = max(1, -(-rows // blocks))  # about the wanted length, blocks of equal size
        self.count = max(1, -(-rows // self.length))  # the last one holds at least one row

    def split(self, values: np.ndarray) -> np.ndarray:
        length, count = self.length, self.count
        steps = np.empty((length, count))
        full = (count - 1) * length
        steps[:, : count - 1] = values[:full].reshape(count - 1, length).T
        tail = values[full:]
        steps[: len(tail), count - 1] = tail
        steps[len(tail) :, count - 1] = values[-1] if len(values) else np.nan
        return steps

    def join(self, steps: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        length, count, rows = self.length, self.count, self.rows
        out = np.empty(rows) if out is None else _contiguous(out)
        full = (count - 1) * length
        out[:full].reshape(count - 1, length)[:] = steps[:, : count - 1].T
        out[full:] = steps[: rows - full, count - 1]
        return out


def emas(inputs: np.ndarray, alphas: Sequence[float], max_passes: int = 32) -> np.ndarray:
    """Every Ema(alpha) of every input series, bit for bit what the incremental class returns when fed the
    series from its first value. `inputs` is step-major (Blocks.length, series, Blocks.count) without NaN;
    the result is (length, len(alphas), series, count).

    Pass 1 runs the recurrence on all blocks at once from approximate starting states (the EMA of the inputs
    before each block, by dot products). Later passes restart each block whose start differs from its
    predecessor's end, and stop following an element as soon as it meets its previous trajectory: from there
    on the two are the same numbers. When every start equals its predecessor's end, the result is exactly the
    sequential one (block 0 starts exactly). A block still unresolved after `max_passes` is finished
    sequentially, so the answer never depends on how fast trajectories merge."""
    length, series, count = inputs.shape
    q = len(alphas)
    alpha = np.asarray(alphas, dtype=np.float64).reshape(q, 1, 1)
    decay = 1.0 - alpha
    scale = decay + alpha
    divide = bool((scale != 1.0).any())
    out = np.empty((length, q, series, count))
    np.multiply(inputs[:, None], alpha, out=out)  # alpha * x as Ema rounds it; replaced step by step below
    start = np.empty((q, series, count))
    start[:, :, 0] = inputs[0, :, 0]  # the state before row 0 equals x0, so row 0 gives x0 as Ema does
    if count > 1:
        powers = decay.reshape(q, 1) ** np.arange(length - 1, -1, -1)
        partial = np.einsum("lsk,ql->qsk", inputs, alpha.reshape(q, 1) * powers)
        carry = decay.reshape(q, 1) ** length
        state = start[:, :, 0].copy()
        for block in range(1, count):
            state = carry * state + partial[:, :, block - 1]
            start[:, :, block] = state
    equal = np.empty((q, series, count), dtype=bool)
    scratch = np.empty((q, series, count))
    previous = start
    for step in range(length):
        current = out[step]
        np.multiply(previous, decay, out=scratch)
        np.add(scratch, current, out=current)
        if divide:
            np.divide(current, scale, out=current)
        np.equal(previous, inputs[step], out=equal)
        np.copyto(current, previous, where=equal)
        previous = current
    if count > 1:
        _settle(inputs, out, start, alpha, decay, scale, divide, max_passes)
    return out


def _settle(inputs: np.ndarray, out: np.ndarray, start: np.ndarray, alpha: np.ndarray, decay: np.ndarray,
            scale: np.ndarray, divide: bool, max_passes: int) -> None:
    """Repeat blocks from their predecessor's end until every start agrees (see `emas`)."""
    length, _, series, count = out.shape
    per_alpha = series * count
    flat_out = out.reshape(length, -1)
    flat_inputs = inputs.reshape(length, -1)
    flat_alpha, flat_decay, flat_scale = (np.repeat(a.reshape(-1), per_alpha) for a in (alpha, decay, scale))
    for _ in range(max_passes):
        proposed = start.copy()
        proposed[:, :, 1:] = out[length - 1][:, :, :-1]
        changed = np.flatnonzero(proposed != start)
        if changed.size == 0:
            return
        start = proposed
        index = changed
        source = index % per_alpha
        state = start.reshape(-1)[index]
        weight, factor, divisor = flat_alpha[index], flat_decay[index], flat_scale[index]
        for step in range(length):
            x = flat_inputs[step].take(source)
            new = state * factor
            new += x * weight
            if divide:
                new /= divisor
            np.copyto(new, state, where=state == x)
            row = flat_out[step]
            old = row.take(index)
            row[index] = new
            if step % 8 == 7:
                moving = new != old
                if not moving.all():
                    index, source, new = index[moving], source[moving], new[moving]
                    weight, factor, divisor = weight[moving], factor[moving], divisor[moving]
                    if index.size == 0:
                        break
            state = new
    _finish_sequentially(inputs, out, start, alpha, decay, scale)


def _finish_sequentially(inputs: np.ndarray, out: np.ndarray, start: np.ndarray, alpha: np.ndarray,
                         decay: np.ndarray, scale: np.ndarray) -> None:
    """The plain recurrence from the first block whose start is not its predecessor's end."""
    length, q, series, count = out.shape
    for a in range(q):
        d, s = float(decay.reshape(-1)[a]), float(scale.reshape(-1)[a])
        for column in range(series):
            ends = out[length - 1, a, column, :-1]
            wrong = np.flatnonzero(start[a, column, 1:] != ends)
            if wrong.size == 0:
                continue
            first = int(wrong[0]) + 1
            value = float(out[length - 1, a, column, first - 1])
            xs = inputs[:, column, first:].T.reshape(-1)
            weighted = (xs * alpha.reshape(-1)[a]).tolist()
            results = []
            for x, ax in zip(xs.tolist(), weighted, strict=True):
                if value != x:
                    value = (d * value + ax) / s
                results.append(value)
            out[:, a, column, first:] = np.array(results).reshape(count - first, length).T
