"""Core types. Hot-path records (one per candle, trade, prediction) are NamedTuples validated column-wise
where data enters; rare ledger objects (orders, fills, positions) are frozen dataclasses validated on build."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple

from dopebot.core.money import ZERO

# Timestamps are integer milliseconds since the Unix epoch (UTC) everywhere.


class Candle(NamedTuple):
    """One OHLCV candle; `time` is the moment it closed (open time + width), the moment it can be known."""

    symbol: str
    time: int
    open: float
    high: float
    low: float
    close: float
    volume: float


class Trade(NamedTuple):
    """One market print. `side` is the taker's side."""

    symbol: str
    time: int
    price: float
    amount: float
    side: str
    id: int


class Prediction(NamedTuple):
    """A model's output for one closed candle; `time` is that candle's close time."""

    model_id: str
    symbol: str
    time: int
    horizon: int
    value: float
    kind: str  # "probability" | "return" | "score"
    latency_us: float


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"  # stop-market: becomes a market order when the trigger price trades


class OrderReason(StrEnum):
    SIGNAL = "signal"
    STOP_LOSS = "stop_loss"
    TAKE_PROFIT = "take_profit"
    RISK = "risk"
    TIME = "time"  # held for the configured number of candles


class OrderStatus(StrEnum):
    ACCEPTED = "accepted"
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"

    @property
    def is_final(self) -> bool:
        return self is not OrderStatus.ACCEPTED


@dataclass(frozen=True, slots=True)
class Market:
    """What the exchange allows for one symbol: the steps every ledger amount is quantised to."""

    symbol: str
    base: str
    quote: str
    price_step: Decimal
    amount_step: Decimal
    min_amount: Decimal = ZERO
    min_notional: Decimal = ZERO
    venue: str = "binance"
    taker_fee: Decimal = Decimal("0.001")
    quote_step: Decimal = Decimal("0.00000001")  # precision of cash and fees

    def __post_init__(self) -> None:
        if self.price_step <= 0 or self.amount_step <= 0 or self.quote_step <= 0:
            raise ValueError(f"{self.symbol}: price, amount and quote steps must be positive")
        if self.min_amount < 0 or self.min_notional < 0 or self.taker_fee < 0:
            raise ValueError(f"{self.symbol}: minimums and fees must not be negative")

    @staticmethod
    def spot(symbol: str, price_step: str = "0.01", amount_step: str = "0.00001", min_notional: str = "0",
             venue: str = "binance", taker_fee: str = "0.001") -> Market:
        base, quote = symbol.split(":")[0].split("/")
        return Market(symbol, base, quote, Decimal(price_step), Decimal(amount_step),
                      Decimal(amount_step), Decimal(min_notional), venue, Decimal(taker_fee))


class _OrderFields(NamedTuple):
    id: str
    symbol: str
    side: Side
    type: OrderType
    time: int
    reason: OrderReason
    amount: Decimal | None = None
    quote_amount: Decimal | None = None
    price: Decimal | None = None  # limit price, or trigger price of a stop
    group: str | None = None  # orders in one group are one-cancels-other (stop-loss + take-profit)


class Order(_OrderFields):
    """An instruction to a broker. A market buy may give `quote_amount` (spend this much quote, like
    Binance's quoteOrderQty) instead of `amount`; everything else gives `amount` in base units.

    Ledger messages (Order, Fill, EquityPoint, RoundTrip) are immutable NamedTuples validated in `__new__`:
    a frozen dataclass pays ~170 ns per field for object.__setattr__, ten times a tuple, and a busy
    strategy makes tens of thousands of these a year."""

    __slots__ = ()

    def __new__(cls, id: str, symbol: str, side: Side, type: OrderType, time: int, reason: OrderReason,
                amount: Decimal | None = None, quote_amount: Decimal | None = None, price: Decimal | None = None,
                group: str | None = None) -> Order:
        if (amount is None) == (quote_amount is None):
            raise ValueError(f"order {id}: give exactly one of amount and quote_amount")
        size = amount if amount is not None else quote_amount
        if size is None or not size.is_finite() or size <= ZERO:
            raise ValueError(f"order {id}: size must be positive, got {size}")
        if quote_amount is not None and (type is not OrderType.MARKET or side is not Side.BUY):
            raise ValueError(f"order {id}: quote_amount is only for market buys")
        if price is not None and not price.is_finite():
            raise ValueError(f"order {id}: price must be finite, got {price}")
        if type is not OrderType.MARKET and (price is None or price <= ZERO):
            raise ValueError(f"order {id}: {type} order needs a positive price")
        return tuple.__new__(cls, (id, symbol, side, type, time, reason, amount, quote_amount, price, group))


@dataclass(frozen=True, slots=True)
class CancelOrder:
    """A request to cancel a resting order; answered by an OrderUpdate (canceled, or rejected if gone)."""

    order_id: str
    symbol: str
    time: int


class OrderUpdate(NamedTuple):
    """A broker's word on an order: accepted, filled, canceled or rejected (with the reason). A NamedTuple:
    several are made per order, and only brokers make them."""

    order_id: str
    symbol: str
    time: int
    status: OrderStatus
    filled_amount: Decimal = ZERO
    message: str = ""


class _FillFields(NamedTuple):
    id: str
    order_id: str
    symbol: str
    side: Side
    time: int
    price: Decimal
    amount: Decimal
    fee: Decimal
    fee_currency: str
    reason: OrderReason


class Fill(_FillFields):
    """An execution: exact price, amount and fee, and the currency the fee was paid in."""

    __slots__ = ()

    def __new__(cls, id: str, order_id: str, symbol: str, side: Side, time: int, price: Decimal, amount: Decimal,
                fee: Decimal, fee_currency: str, reason: OrderReason) -> Fill:
        if not (price.is_finite() and amount.is_finite() and fee.is_finite()):
            raise ValueError(f"fill {id}: price, amount and fee must be finite")
        if price <= ZERO or amount <= ZERO:
            raise ValueError(f"fill {id}: price and amount must be positive")
        if fee < ZERO:
            raise ValueError(f"fill {id}: fee must not be negative")
        return tuple.__new__(cls, (id, order_id, symbol, side, time, price, amount, fee, fee_currency, reason))

    @property
    def notional(self) -> Decimal:
        return self.price * self.amount


class Position(NamedTuple):
    """Holdings in one symbol after a fill; `cost` is what was paid for them including entry fees."""

    symbol: str
    amount: Decimal
    cost: Decimal
    realized_pnl: Decimal
    opened_time: int | None

    @property
    def average_price(self) -> Decimal:
        return self.cost / self.amount if self.amount else ZERO


class _EquityFields(NamedTuple):
    time: int
    cash: Decimal
    position_value: Decimal
    equity: Decimal


class EquityPoint(_EquityFields):
    """Account value at one moment; cash + position value = equity, exactly, by construction."""

    __slots__ = ()

    def __new__(cls, time: int, cash: Decimal, position_value: Decimal, equity: Decimal | None = None) -> EquityPoint:
        total = cash + position_value
        if equity is not None and equity != total:
            raise ValueError(f"equity {equity} != cash {cash} + position value {position_value}")
        return tuple.__new__(cls, (time, cash, position_value, total))


class RoundTrip(NamedTuple):
    """One closed trade for reports: entry and exit fills folded into a result."""

    symbol: str
    entry_time: int
    exit_time: int
    entry_price: Decimal
    exit_price: Decimal
    amount: Decimal
    fees: Decimal
    pnl: Decimal
    exit_reason: OrderReason

    @property
    def return_pct(self) -> float:
        cost = self.entry_price * self.amount
        return float(self.pnl / cost) if cost else 0.0
