"""The portfolio is a fold over fills: exact Decimal cash and positions, round trips for reports, and a
float mark-to-market per candle for drawdown. A restart rebuilds it by replaying the same fills."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from dopebot.core import topics
from dopebot.core.money import ZERO, to_decimal
from dopebot.core.types import Candle, EquityPoint, Fill, Market, Position, RoundTrip, Side


@dataclass(slots=True)
class _OpenTrip:
    """Accumulates the entry side of a round trip until the position is flat again."""

    entry_time: int
    bought_amount: Decimal = ZERO
    bought_notional: Decimal = ZERO
    sold_amount: Decimal = ZERO
    sold_notional: Decimal = ZERO
    fees: Decimal = ZERO
    buys: int = 0  # fills on each side: with one, the average price is that fill's price (no division)
    sells: int = 0
    buy_price: Decimal = ZERO
    sell_price: Decimal = ZERO


class Portfolio:
    """Cash and holdings of one account in one quote currency."""

    def __init__(self, markets: dict[str, Market], starting_cash: Decimal,
                 publish: Callable[[str, Any], None] | None = None,
                 wanted: Callable[[str], bool] = lambda topic: True) -> None:
        self.markets = markets
        self.starting_cash = starting_cash
        self.cash = starting_cash
        self.amounts: dict[str, Decimal] = dict.fromkeys(markets, ZERO)
        self.costs: dict[str, Decimal] = dict.fromkeys(markets, ZERO)
        self.realized_pnl = ZERO
        self.fees_paid = ZERO
        self.fills: list[Fill] = []
        self.round_trips: list[RoundTrip] = []
        self.ledger: list[EquityPoint] = []  # exact equity at every fill, marked at the fill price
        self._open_trips: dict[str, _OpenTrip] = {}
        self._publish = publish
        self._wanted = wanted  # the bus says whether anyone listens; nobody does in a backtest
        self._position_topics = {symbol: topics.positions(m.venue, symbol) for symbol, m in markets.items()}
        # float mirror for per-candle marking (drawdown); reconciled from the exact ledger at every fill
        self.last_close: dict[str, float] = {}
        self._cash_float = float(starting_cash)
        self._held_float: dict[str, float] = {}
        self.peak_equity = float(starting_cash)
        self.drawdown = 0.0

    # --- fills (exact) -------------------------------------------------------------------------
    def on_fill(self, fill: Fill) -> None:
        symbol, price, amount, fee = fill.symbol, fill.price, fill.amount, fill.fee
        notional = price * amount
        held, cost = self.amounts[symbol], self.costs[symbol]
        trip = self._open_trips.get(symbol)
        if fill.side is Side.BUY:
            self.cash -= notional + fee
            self.amounts[symbol] = held = held + amount
            self.costs[symbol] = cost + notional + fee
            if trip is None:
                trip = self._open_trips[symbol] = _OpenTrip(fill.time)
            trip.bought_amount += amount
            trip.bought_notional += notional
            trip.fees += fee
            trip.buys += 1
            trip.buy_price = price
        else:
            if amount > held:
                raise ValueError(f"fill {fill.id}: sells {amount} {symbol} but only {held} is held")
            # cost released by this sale, on the quote grid so realized + remaining cost stays exact
            released = cost if amount == held else (cost * amount / held).quantize(self.markets[symbol].quote_step)
            self.cash += notional - fee
            self.realized_pnl += notional - fee - released
            self.amounts[symbol] = held = held - amount
            self.costs[symbol] = cost - released
            if trip is not None:
                trip.sold_amount += amount
                trip.sold_notional += notional
                trip.fees += fee
                trip.sells += 1
                trip.sell_price = price
                if not held:
                    self._close_trip(symbol, trip, fill)
        self.fees_paid += fee
        self.fills.append(fill)
        self._after_fill(fill, held)

    def _close_trip(self, symbol: str, trip: _OpenTrip, last: Fill) -> None:
        del self._open_trips[symbol]
        entry_price = trip.buy_price if trip.buys == 1 else trip.bought_notional / trip.bought_amount
        exit_price = trip.sell_price if trip.sells == 1 else trip.sold_notional / trip.sold_amount
        pnl = trip.sold_notional - trip.bought_notional - trip.fees
        self.round_trips.append(tuple.__new__(RoundTrip, (symbol, trip.entry_time, last.time, entry_price,
                                                          exit_price, trip.bought_amount, trip.fees, pnl,
                                                          last.reason)))

    def _after_fill(self, fill: Fill, held: Decimal) -> None:
        """The exact ledger point at this fill (marked at the fill price) and the float mirror used for
        per-candle marking."""
        symbol, cash = fill.symbol, self.cash
        if symbol not in self.last_close:
            self.last_close[symbol] = float(fill.price)
        if held:
            self._held_float[symbol] = float(held)
        else:
            self._held_float.pop(symbol, None)
        self._cash_float = float(cash)
        value = held * fill.price
        if len(self._held_float) > 1 or (self._held_float and not held):
            for other in self._held_float:
                if other != symbol:
                    value += self.amounts[other] * to_decimal(self.last_close[other])
        # equity is cash + value by construction here, so the validating constructor has nothing to check
        equity = cash + value
        self.ledger.append(tuple.__new__(EquityPoint, (fill.time, cash, value, equity)))
        marked = float(equity)
        if marked > self.peak_equity:
            self.peak_equity = marked
        topic = self._position_topics[symbol]
        if self._publish is not None and self._wanted(topic):
            self._publish(topic, self.position(symbol))

    # --- marking (float, per candle) ------------------------------------------------------------
    def mark(self, candle: Candle) -> None:
        """Mark a held symbol at a candle's close (the trader calls it while it holds: flat books have constant
        equity, so nobody pays for marking them)."""
        held = self._held_float
        amount = held.get(candle.symbol)
        if amount is not None:
            self.last_close[candle.symbol] = candle.close
            if len(held) == 1:
                equity = self._cash_float + amount * candle.close
            else:
                equity = self._cash_float + sum(a * self.last_close[s] for s, a in held.items())
            if equity > self.peak_equity:
                self.peak_equity = equity
            self.drawdown = 1.0 - equity / self.peak_equity

    # --- queries --------------------------------------------------------------------------------
    def position(self, symbol: str) -> Position:
        trip = self._open_trips.get(symbol)
        return Position(symbol, self.amounts[symbol], self.costs[symbol], self.realized_pnl,
                        trip.entry_time if trip else None)

    def equity_point(self, time: int, symbol: str | None = None, price: float = 0.0) -> EquityPoint:
        """Exact equity marked at the last closes seen (or at `price` for `symbol`), each close made a
        Decimal from its shortest repr."""
        marks = dict(self.last_close)
        if symbol is not None:
            marks[symbol] = price
        value = sum((amount * to_decimal(marks.get(s, 0.0)) for s, amount in self.amounts.items() if amount), ZERO)
        return EquityPoint(time, self.cash, value)
