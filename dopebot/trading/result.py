"""What a backtest hands to reports, the store and the JSON output: the ledger plus the per-candle curve."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np

from dopebot.core.types import Fill, Order, OrderUpdate, RoundTrip


@dataclass(frozen=True)
class BacktestResult:
    """One finished backtest. Arrays are aligned per candle (close time order).

    `equity` is cash + position value marked at each candle's close (float, for metrics and charts);
    `final_equity`, `final_cash` and the fills are the exact Decimal ledger.
    """

    run_id: str
    strategy: str
    symbol: str
    venue: str
    timeframe: str
    quote: str
    settings: dict[str, Any]  # JSON-able: fee, slippage_bps, stake, fill_at, stop_loss, take_profit, ...
    starting_balance: Decimal
    final_cash: Decimal
    final_position: Decimal  # base units still held at the end (marked at the last close)
    final_equity: Decimal
    time: np.ndarray  # int64 ms, candle close times
    close: np.ndarray  # float64 close prices (buy-and-hold reference)
    equity: np.ndarray  # float64
    position: np.ndarray  # float64 base units held at each close (exposure)
    orders: list[Order] = field(default_factory=list)
    updates: list[OrderUpdate] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)
    round_trips: list[RoundTrip] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)  # human-readable gap descriptions
    halt_reason: str = ""  # why a risk limit stopped trading, if one did
    bus_errors: int = 0
    first_error: str = ""
    elapsed_seconds: float = 0.0

    @property
    def candles(self) -> int:
        return len(self.time)

    @property
    def fees_paid(self) -> Decimal:
        return sum((f.fee for f in self.fills), Decimal(0))
