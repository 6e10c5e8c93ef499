"""The trader: turns a strategy's target into orders, sizes them, protects positions with stop-loss and
take-profit orders, and enforces risk limits. It publishes orders and never calls a broker."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from dopebot.core import topics
from dopebot.core.clock import Clock
from dopebot.core.money import ONE, ZERO, ceil_to_step, floor_to_step
from dopebot.core.types import (
    CancelOrder,
    Candle,
    Fill,
    Market,
    Order,
    OrderReason,
    OrderStatus,
    OrderType,
    OrderUpdate,
    Prediction,
    Side,
)
from dopebot.trading.inputs import IncrementalInputs, PrecomputedInputs
from dopebot.trading.portfolio import Portfolio
from dopebot.trading.strategy import Strategy


@dataclass(frozen=True, slots=True)
class TraderConfig:
    """Sizing and protection. Exactly one of stake_amount (quote per trade) and stake_fraction (of equity)."""

    stake_amount: Decimal | None = None
    stake_fraction: Decimal | None = None
    stop_loss: Decimal = ZERO  # fraction below the entry price; 0 disables
    take_profit: Decimal = ZERO  # fraction above the entry price; 0 disables
    max_drawdown: float = 1.0  # exit and halt when equity falls this far below its peak
    max_position_fraction: Decimal = ONE
    max_hold: int = 0  # candles; exit with reason "time" after holding this long (0 disables)

    def __post_init__(self) -> None:
        if (self.stake_amount is None) == (self.stake_fraction is None):
            raise ValueError("give exactly one of stake_amount and stake_fraction")
        if self.stake_amount is not None and self.stake_amount <= 0:
            raise ValueError("stake_amount must be positive")
        if self.stake_fraction is not None and not ZERO < self.stake_fraction <= ONE:
            raise ValueError("stake_fraction must be in (0, 1]")
        if self.max_hold < 0:
            raise ValueError("max_hold must not be negative")


class Trader:
    """One symbol, one strategy. Order ids are deterministic: prefix, symbol and a sequence number."""

    def __init__(self, market: Market, strategy: Strategy, inputs: IncrementalInputs | PrecomputedInputs,
                 portfolio: Portfolio, config: TraderConfig, clock: Clock,
                 publish: Callable[[str, Any], None], order_prefix: str = "dope") -> None:
        self.market = market
        self.strategy = strategy
        self.config = config
        self.portfolio = portfolio
        self.halted = False
        self.halt_reason = ""
        self._latest_inputs = inputs.latest
        self._mark = portfolio.mark
        self._target = strategy.target
        self._uses_predictions = strategy.uses_predictions
        self._clock = clock
        self._publish = publish
        self._orders_topic = topics.orders(market.venue, market.symbol)
        self._prefix = f"{order_prefix}-{topics.encode_symbol(market.symbol)}"
        self._sequence = 0
        self._holding = False
        self._in_flight: str | None = None  # an entry or exit order not yet final
        self._protective: list[str] = []  # resting stop-loss / take-profit order ids
        self._values: tuple[Any, ...] = ()
        self._candle = Candle(market.symbol, -1, 0.0, 0.0, 0.0, 0.0, 0.0)
        self._decided_time = -1
        self._max_drawdown = config.max_drawdown
        self._fee_factor = ONE + market.taker_fee
        self._watch_drawdown = config.max_drawdown < 1.0  # marking per candle only serves the drawdown limit
        self._max_hold = config.max_hold or sys.maxsize
        self._counts_hold = config.max_hold > 0
        self._held_candles = 0  # closed candles since the entry filled, counting the entry candle
        self._idle = False
        self._settle()

    # --- events ---------------------------------------------------------------------------------
    def on_candle(self, candle: Candle) -> None:
        """Hot path: runs once per closed candle. Most candles find the trader idle (see `_settle`): then the
        whole job is one call to the strategy."""
        values = self._latest_inputs()
        if self._idle:
            target = self._target(values, None, self._holding)
            if target is not None:
                self._candle = candle
                self._act(target)
            return
        self._candle = candle
        if self._holding:
            self._held_candles += 1
            if self._watch_drawdown:
                self._mark(candle)
                if self.portfolio.drawdown >= self._max_drawdown and not self.halted:
                    self._halt(f"drawdown {self.portfolio.drawdown:.2%} reached the limit {self._max_drawdown:.2%}")
                    return
            if self._held_candles >= self._max_hold and self._in_flight is None:
                self._exit(OrderReason.TIME)
                return
        if self._uses_predictions:
            self._values = values  # prediction strategies decide when the champion's prediction arrives
        elif self._in_flight is None:
            target = self._target(values, None, self._holding)
            if target is not None:
                self._act(target)

    def on_prediction(self, prediction: Prediction) -> None:
        """Rendezvous: act on the champion's prediction for the candle just closed, once."""
        time = prediction.time
        if time == self._candle.time and time != self._decided_time:
            self._decided_time = time
            if self._in_flight is None:
                target = self._target(self._values, prediction, self._holding)
                if target is not None:
                    self._act(target)

    def _settle(self) -> None:
        """Idle: the strategy decides on the candle itself, nothing is in flight, and a held position needs no
        per-candle care (no drawdown limit to mark for, no time exit to count towards)."""
        self._idle = (not self._uses_predictions and self._in_flight is None
                      and (not self._holding or not (self._watch_drawdown or self._counts_hold)))

    def on_fill(self, fill: Fill) -> None:
        held = self.portfolio.amounts[self.market.symbol]
        was_holding, self._holding = self._holding, held > 0
        if fill.order_id == self._in_flight:
            self._in_flight = None
        if self._holding and not was_holding:
            self._held_candles = 0
            self._protect(fill)
        elif not self._holding and was_holding:
            self._protective.clear()  # the broker cancels the other side of a one-cancels-other pair
        self._settle()

    def on_update(self, update: OrderUpdate) -> None:
        status = update.status
        if status is OrderStatus.ACCEPTED:
            return
        if status is not OrderStatus.FILLED and update.order_id == self._in_flight:
            self._in_flight = None  # rejected or canceled: the fill that would clear it will not come
            self._settle()
        if update.order_id in self._protective:
            self._protective.remove(update.order_id)

    # --- decisions ------------------------------------------------------------------------------
    def _act(self, target: float) -> None:
        if target > 0.0:
            if not self._holding and not self.halted:
                self._enter()
        elif self._holding:
            self._exit(OrderReason.SIGNAL)

    def _enter(self) -> None:
        config, portfolio = self.config, self.portfolio
        stake = portfolio.cash / self._fee_factor  # never more than the cash can pay, fee included
        if config.stake_amount is not None:
            stake = min(stake, config.stake_amount)
        if config.stake_fraction is not None or config.max_position_fraction < ONE:
            equity = portfolio.equity_point(self._clock.now_ms(), self.market.symbol, self._candle.close).equity
            if config.stake_fraction is not None:
                stake = min(stake, equity * config.stake_fraction)
            stake = min(stake, equity * config.max_position_fraction)
        stake = floor_to_step(stake, self.market.quote_step)
        if stake <= 0:
            return
        self._in_flight = self._send(Side.BUY, OrderType.MARKET, OrderReason.SIGNAL, quote_amount=stake)
        self._settle()

    def _exit(self, reason: OrderReason) -> None:
        self._cancel_protection()
        amount = self.portfolio.amounts[self.market.symbol]
        self._in_flight = self._send(Side.SELL, OrderType.MARKET, reason, amount=amount)
        self._settle()

    def _halt(self, why: str) -> None:
        self.halted = True
        self.halt_reason = why
        if self._in_flight is None:
            self._exit(OrderReason.RISK)

    def _protect(self, entry: Fill) -> None:
        amount = self.portfolio.amounts[self.market.symbol]
        group = f"{entry.order_id}-oco"
        step = self.market.price_step
        if self.config.stop_loss > 0:
            stop = floor_to_step(entry.price * (ONE - self.config.stop_loss), step).quantize(step)
            self._protective.append(self._send(Side.SELL, OrderType.STOP, OrderReason.STOP_LOSS, amount=amount,
                                               price=stop, group=group))
        if self.config.take_profit > 0:
            limit = ceil_to_step(entry.price * (ONE + self.config.take_profit), step).quantize(step)
            self._protective.append(self._send(Side.SELL, OrderType.LIMIT, OrderReason.TAKE_PROFIT,
                                               amount=amount, price=limit, group=group))

    def _cancel_protection(self) -> None:
        for order_id in self._protective:
            self._publish(self._orders_topic, CancelOrder(order_id, self.market.symbol, self._clock.now_ms()))
        self._protective.clear()

    def _send(self, side: Side, kind: OrderType, reason: OrderReason, amount: Decimal | None = None,
              quote_amount: Decimal | None = None, price: Decimal | None = None, group: str | None = None) -> str:
        self._sequence += 1
        order = Order(f"{self._prefix}-{self._sequence}", self.market.symbol, side, kind, self._clock.now_ms(),
                      reason, amount, quote_amount, price, group)
        self._publish(self._orders_topic, order)
        return order.id

