"""The simulated broker: a matching engine over candles, used by backtest and paper trading alike.

It sees each candle before the bot does (the fills it makes happened during that candle), keeps its own
account balances like an exchange would, and publishes order updates and fills on the bus. Fill rules are
the numbered assumptions in the README.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from dopebot.core import topics
from dopebot.core.bus import Gate
from dopebot.core.money import BPS, ONE, ZERO, ceil_to_step, floor_to_step, price_to_step
from dopebot.core.types import (
    CancelOrder,
    Candle,
    Fill,
    Market,
    Order,
    OrderStatus,
    OrderType,
    OrderUpdate,
    Side,
)


@dataclass(frozen=True, slots=True)
class FillModel:
    """How the simulated venue fills: fee per side, adverse slippage on market fills, when market orders fill."""

    fee_rate: Decimal
    slippage_bps: Decimal
    fill_at: str = "next_open"  # or "close": at the close of the candle the order was sent on

    def __post_init__(self) -> None:
        if self.fee_rate < 0 or self.slippage_bps < 0:
            raise ValueError("fee and slippage must not be negative")
        if self.fill_at not in ("next_open", "close"):
            raise ValueError(f"fill_at must be next_open or close, not {self.fill_at!r}")


class SimulatedBroker:
    """Fills market, stop and limit orders against candles; stop-loss + take-profit pairs are one-cancels-other."""

    def __init__(self, markets: dict[str, Market], model: FillModel, balances: dict[str, Decimal],
                 width_ms: int, publish: Callable[[str, Any], None]) -> None:
        self.markets = markets
        self.model = model
        self.balances = dict(balances)
        self.width_ms = width_ms
        self._publish = publish
        self._market_orders: list[Order] = []  # waiting for the next candle's open
        self._resting: dict[str, Order] = {}  # stops and limits, by order id
        self._last: dict[str, Candle] = {}
        self._fill_count = 0
        self._working = False  # anything to match: keeps quiet candles cheap
        self._fills_at_close = model.fill_at == "close"
        self._fee_rate = model.fee_rate
        self._slippage = model.slippage_bps > 0
        self._slip_up = ONE + model.slippage_bps * BPS  # adverse: buys pay more, sells get less
        self._slip_down = ONE - model.slippage_bps * BPS
        # a replay calls on_candle through this gate only while something waits to be matched
        self.gate = Gate(self.on_candle if self._fills_at_close else None)
        self._topics = {symbol: (topics.order_updates(m.venue, symbol), topics.fills(m.venue, symbol))
                        for symbol, m in markets.items()}
        # per symbol: (highest price a low must reach, lowest price a high must reach) for any resting order to
        # trigger; a candle inside that band cannot fill anything, which is most candles while protected
        self._bands: dict[str, tuple[float, float]] = {}

    # --- inputs ---------------------------------------------------------------------------------
    def on_order(self, request: Order | CancelOrder) -> None:
        if isinstance(request, CancelOrder):
            self._cancel(request)
            return
        order = request
        if order.symbol not in self.markets:
            self._update(order, order.time, OrderStatus.REJECTED, f"unknown symbol {order.symbol}")
            return
        self._update(order, order.time, OrderStatus.ACCEPTED)
        if order.type is OrderType.MARKET:
            last = self._last.get(order.symbol) if self._fills_at_close else None
            if last is not None:
                self._execute(order, last.close, last.time, slip=True)
            else:
                self._market_orders.append(order)
        else:
            self._resting[order.id] = order
            self._rebuild_bands()
        self._working = True
        self.gate.hook = self.on_candle

    def on_candle(self, candle: Candle) -> None:
        """Match what was waiting against this candle, before anyone else sees it."""
        if self._working:
            self._match(candle)
            if not self._working and not self._fills_at_close:
                self.gate.hook = None
        if self._fills_at_close:
            self._last[candle.symbol] = candle

    def _match(self, candle: Candle) -> None:
        opened = candle.time - self.width_ms
        if self._market_orders:
            waiting, self._market_orders = self._market_orders, []
            for order in waiting:
                if order.symbol == candle.symbol:
                    self._execute(order, candle.open, opened, slip=True)
                else:
                    self._market_orders.append(order)
        if self._resting:
            band = self._bands.get(candle.symbol)  # most candles stay inside it: nothing can trigger
            if band is not None and (candle.low <= band[0] or candle.high >= band[1]):
                self._match_resting(candle, opened)
        self._working = bool(self._market_orders or self._resting)

    # --- matching -------------------------------------------------------------------------------
    def _match_resting(self, candle: Candle, time: int) -> None:
        """Three passes, pessimistic within a candle: limits the open already satisfies, then stops the range
        touches (a stop gapped through fills at the open), then limits the range touches."""
        mine = [o for o in self._resting.values() if o.symbol == candle.symbol]
        for phase in (_limit_at_open, _stop_touched, _limit_touched):
            for order in mine:
                if order.id in self._resting:
                    price = phase(order, candle)
                    if price is not None:
                        self._fill_resting(order, price, time, slip=order.type is OrderType.STOP)

    def _rebuild_bands(self) -> None:
        """Trigger band per symbol: sell stops and buy limits fire from below, sell limits and buy stops from
        above (see the phase functions)."""
        bands: dict[str, tuple[float, float]] = {}
        for order in self._resting.values():
            low, high = bands.get(order.symbol, (-math.inf, math.inf))
            price = float(order.price)  # type: ignore[arg-type]
            if (order.type is OrderType.STOP) == (order.side is Side.SELL):
                low = max(low, price)
            else:
                high = min(high, price)
            bands[order.symbol] = (low, high)
        self._bands = bands

    def _fill_resting(self, order: Order, price: float, time: int, slip: bool) -> None:
        del self._resting[order.id]
        if self._execute(order, price, time, slip) and order.group:
            for other in [o for o in self._resting.values() if o.group == order.group]:
                del self._resting[other.id]
                self._update(other, time, OrderStatus.CANCELED, f"other side of {order.group} filled")
        self._rebuild_bands()

    def _execute(self, order: Order, reference: float, time: int, slip: bool) -> bool:
        """Price, size, fee and funds check of one fill; publishes the fill or a rejection."""
        market = self.markets[order.symbol]
        tick = market.price_step
        buying = order.side is Side.BUY
        # the market's price first (the float's shortest repr, rounded to the tick: float noise such as
        # 41117.590000000004 must not cost a whole tick), then adverse slippage and rounding
        price = price_to_step(reference, tick)
        if slip and self._slippage:
            price = price * self._slip_up if buying else price * self._slip_down
            # the step functions return values with the step's exponent: no further quantize needed
            price = ceil_to_step(price, tick) if buying else floor_to_step(price, tick)
        if order.quote_amount is not None:
            amount = floor_to_step(order.quote_amount / price, market.amount_step)
        else:
            amount = floor_to_step(order.amount, market.amount_step)  # type: ignore[arg-type]
        notional = price * amount
        fee = ceil_to_step(notional * self._fee_rate, market.quote_step)
        balances = self.balances
        if amount <= 0 or amount < market.min_amount or notional < market.min_notional or (
                notional + fee > balances.get(market.quote, ZERO) if buying
                else amount > balances.get(market.base, ZERO)):
            self._update(order, time, OrderStatus.REJECTED, self._problem(market, order.side, amount, notional, fee))
            return False
        if buying:
            balances[market.quote] -= notional + fee
            balances[market.base] = balances.get(market.base, ZERO) + amount
        else:
            balances[market.base] -= amount
            balances[market.quote] += notional - fee
        self._fill_count += 1
        fill = Fill(f"{order.id}-f{self._fill_count}", order.id, order.symbol, order.side, time, price, amount,
                    fee, market.quote, order.reason)
        updates_topic, fills_topic = self._topics[order.symbol]
        self._publish(updates_topic, tuple.__new__(OrderUpdate, (order.id, order.symbol, time, OrderStatus.FILLED,
                                                                 amount, "")))
        self._publish(fills_topic, fill)
        return True

    def _problem(self, market: Market, side: Side, amount: Decimal, notional: Decimal, fee: Decimal) -> str:
        """Why a fill cannot happen (the reason a rejection carries)."""
        if amount <= 0 or amount < market.min_amount:
            return f"amount {amount} below the minimum {market.min_amount} {market.base}"
        if notional < market.min_notional:
            return f"order value {notional} below the minimum notional {market.min_notional} {market.quote}"
        if side is Side.BUY and notional + fee > self.balances.get(market.quote, ZERO):
            return f"insufficient {market.quote}: need {notional + fee}, have {self.balances.get(market.quote, ZERO)}"
        if side is Side.SELL and amount > self.balances.get(market.base, ZERO):
            return f"insufficient {market.base}: need {amount}, have {self.balances.get(market.base, ZERO)}"
        return ""

    def _cancel(self, request: CancelOrder) -> None:
        order = self._resting.pop(request.order_id, None)
        if order is None:
            pending = [o for o in self._market_orders if o.id == request.order_id]
            if not pending:
                self._publish(self._updates_topic(request.symbol),
                              OrderUpdate(request.order_id, request.symbol, request.time, OrderStatus.REJECTED,
                                          message="cancel: no such open order"))
                return
            order = pending[0]
            self._market_orders.remove(order)
        self._rebuild_bands()
        self._update(order, request.time, OrderStatus.CANCELED, "canceled on request")

    def _updates_topic(self, symbol: str) -> str:
        known = self._topics.get(symbol)
        return known[0] if known else topics.order_updates("unknown", symbol)

    def _update(self, order: Order, time: int, status: OrderStatus, message: str = "",
                filled: Decimal = ZERO) -> None:
        # tuple.__new__: every field is given, so the NamedTuple's Python-level __new__ adds nothing
        self._publish(self._updates_topic(order.symbol),
                      tuple.__new__(OrderUpdate, (order.id, order.symbol, time, status, filled, message)))


def _limit_reached(order: Order, candle: Candle, at_open: bool) -> float | None:
    """A resting limit fills at its price once the market trades through it: at the open, or anywhere in
    the candle's range."""
    if order.type is not OrderType.LIMIT:
        return None
    limit = float(order.price)  # type: ignore[arg-type]
    if order.side is Side.SELL:
        reached = (candle.open if at_open else candle.high) >= limit
    else:
        reached = (candle.open if at_open else candle.low) <= limit
    return limit if reached else None


def _limit_at_open(order: Order, candle: Candle) -> float | None:
    return _limit_reached(order, candle, at_open=True)


def _limit_touched(order: Order, candle: Candle) -> float | None:
    return _limit_reached(order, candle, at_open=False)


def _stop_touched(order: Order, candle: Candle) -> float | None:
    if order.type is not OrderType.STOP:
        return None
    stop = float(order.price)  # type: ignore[arg-type]
    if order.side is Side.SELL:
        return min(stop, candle.open) if candle.low <= stop else None
    return max(stop, candle.open) if candle.high >= stop else None
