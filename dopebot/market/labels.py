"""Training labels. A label at row t uses only candles after t: the trade enters at the next candle's open
(the first price a decision made at t's close can get) and is judged over the H candles that follow.
Rows whose window runs past the end of the data get NaN and are dropped by training.

Triple barrier: 1 if the take-profit barrier is reached before the stop-loss barrier within H candles,
else 0 (stop first, timeout, or both touched inside one candle, which we cannot order, so we assume the
worse). Fees are inside the barriers: take-profit sits at +(tp + round-trip fee), so touching it nets tp,
and the stop sits at -(sl - round-trip fee), so touching it loses sl net. Barriers are either fractions
("pct") or multiples of the realised volatility over the past `vol_window` candles scaled by sqrt(H)
("vol"), known at t.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from dopebot.core.errors import UsageError


@dataclass(frozen=True)
class LabelSpec:
    """What a model learns to predict; stored in the model card."""

    kind: str = "triple_barrier"  # or "regression" (forward log return)
    horizon: int = 60
    take_profit: float = 0.006  # fraction, or multiple of volatility when barrier == "vol"
    stop_loss: float = 0.006
    barrier: str = "pct"  # "pct" | "vol"
    fee: float = 0.001  # per side, as a fraction of notional
    vol_window: int = 60

    def __post_init__(self) -> None:
        if self.kind not in ("triple_barrier", "regression"):
            raise UsageError(f"label {self.kind!r}: expected triple_barrier or regression")
        if self.barrier not in ("pct", "vol"):
            raise UsageError(f"barrier {self.barrier!r}: expected pct or vol")
        if self.horizon < 1 or self.take_profit <= 0 or self.stop_loss <= 0:
            raise UsageError("horizon, take-profit and stop-loss must be positive")
        if self.barrier == "pct" and self.stop_loss <= 2 * self.fee:
            raise UsageError(f"stop-loss {self.stop_loss} must exceed the round-trip fee {2 * self.fee}")

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class Labels:
    """Per-row outcome; NaN where the window passes the data end. `hit` says a barrier was touched and
    `up_first` which one came first (NaN when none was), for the skill decomposition in reports."""

    label: np.ndarray
    hit: np.ndarray
    up_first: np.ndarray
    trade_return: np.ndarray  # net log return of the labelled trade (barrier or timeout exit), after fees
    exit_after: np.ndarray  # candles from entry to the exit candle (1..H), NaN where unlabelled


def _widths(spec: LabelSpec, close: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if spec.barrier == "pct":
        n = len(close)
        return np.full(n, spec.take_profit), np.full(n, spec.stop_loss)
    r = np.log(close[1:] / close[:-1])
    r2 = pd.Series(np.concatenate([[np.nan], r * r])).rolling(spec.vol_window).mean().to_numpy()
    scale = np.sqrt(r2 * spec.horizon)
    return spec.take_profit * scale, spec.stop_loss * scale


def barrier_fractions(frame: pd.DataFrame, spec: LabelSpec) -> tuple[np.ndarray, np.ndarray]:
    """Per-row take-profit and stop-loss widths as fractions of the entry price, before fees (the ones
    `triple_barrier` uses; NaN while the volatility window fills). Lets callers that need fixed exits
    (the trader) summarise volatility barriers without re-deriving them."""
    return _widths(spec, frame["close"].to_numpy(dtype=float))


def triple_barrier(frame: pd.DataFrame, spec: LabelSpec) -> Labels:
    """Vectorised over the horizon (H passes of O(n)), memory O(n): fits a year of minutes easily."""
    o, h, lo, c = (frame[k].to_numpy(dtype=float) for k in ("open", "high", "low", "close"))
    n, horizon = len(c), spec.horizon
    rows = max(n - horizon, 0)  # rows with a full window: t + horizon <= n - 1
    entry = o[1:rows + 1]
    tp, sl = (w[:rows] for w in _widths(spec, c))
    round_trip = 2 * spec.fee
    upper = entry * (1 + tp + round_trip)
    lower = entry * np.minimum(1 - sl + round_trip, 1.0)
    never = horizon + 1
    first_up = np.full(rows, never)
    first_down = np.full(rows, never)
    for k in range(1, horizon + 1):  # candle t + k is the k-th candle of the trade (entry candle is k = 1)
        hi, low = h[k:rows + k], lo[k:rows + k]
        first_up = np.where((first_up == never) & (hi >= upper), k, first_up)
        first_down = np.where((first_down == never) & (low <= lower), k, first_down)
    hit = (first_up < never) | (first_down < never)
    win = first_up < first_down
    exit_price = np.where(win, upper, np.where(first_down < never, lower, c[horizon:rows + horizon]))
    trade_return = np.log(exit_price / entry) + 2 * np.log1p(-spec.fee)
    valid = np.isfinite(tp) & np.isfinite(sl)
    return Labels(
        label=_pad(np.where(valid, win.astype(float), np.nan), n),
        hit=_pad(np.where(valid, hit.astype(float), np.nan), n),
        up_first=_pad(np.where(valid & hit, win.astype(float), np.nan), n),
        trade_return=_pad(np.where(valid, trade_return, np.nan), n),
        exit_after=_pad(np.where(valid, np.minimum(np.minimum(first_up, first_down), horizon), np.nan), n),
    )


def forward_return(frame: pd.DataFrame, horizon: int) -> np.ndarray:
    """log(close[t+H] / open[t+1]): the return of entering at the next open and holding H candles."""
    o, c = frame["open"].to_numpy(dtype=float), frame["close"].to_numpy(dtype=float)
    n = len(c)
    rows = max(n - horizon, 0)
    return _pad(np.log(c[horizon:rows + horizon] / o[1:rows + 1]), n)


def make_labels(frame: pd.DataFrame, spec: LabelSpec) -> Labels:
    """The label the spec asks for; regression fills only `label` and `trade_return`."""
    if spec.kind == "regression":
        value = forward_return(frame, spec.horizon)
        nan = np.full(len(value), np.nan)
        return Labels(label=value, hit=nan, up_first=nan, trade_return=value + 2 * np.log1p(-spec.fee),
                      exit_after=np.where(np.isfinite(value), float(spec.horizon), np.nan))
    return triple_barrier(frame, spec)


def _pad(values: np.ndarray, n: int) -> np.ndarray:
    out = np.full(n, np.nan)
    out[:len(values)] = values
    return out
