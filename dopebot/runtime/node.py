"""The composition root: one object graph for backtest, paper and live. Only the feed, the clock and the
broker differ between modes; the bus wiring below is the same, and its order is the order of delivery."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from dopebot.core import topics
from dopebot.core.bus import Bus
from dopebot.core.clock import Clock, ReplayClock
from dopebot.core.timeframes import width_ms
from dopebot.core.types import Candle, Market, Order, OrderUpdate
from dopebot.execution.simulated import FillModel, SimulatedBroker
from dopebot.models.runner import RecordedPredictions
from dopebot.trading.inputs import IncrementalInputs, PrecomputedInputs
from dopebot.trading.portfolio import Portfolio
from dopebot.trading.strategy import Strategy
from dopebot.trading.trader import Trader, TraderConfig

Publish = Callable[[str, Any], None]


class ModelRunner:
    """What the node needs of a model runner (LiveModelRunner)."""

    model_id: str

    def on_candle(self, candle: Candle) -> None: ...


RunnerFactory = Callable[[Publish], ModelRunner]


@dataclass(frozen=True)
class NodeSpec:
    market: Market
    timeframe: str
    strategy: Strategy
    trader: TraderConfig
    starting_balance: Decimal
    fill_model: FillModel
    champion: str | None = None  # model whose predictions drive a prediction strategy
    order_prefix: str = "dope"


class Node:
    """Bus, portfolio, simulated broker, model runners and trader for one symbol, wired in delivery order."""

    def __init__(self, spec: NodeSpec, clock: Clock, inputs: IncrementalInputs | PrecomputedInputs,
                 runners: Sequence[RunnerFactory] = ()) -> None:
        market = spec.market
        self.spec = spec
        self.clock = clock
        self.bus = bus = Bus()
        publish = bus.publish
        markets = {market.symbol: market}
        self.portfolio = Portfolio(markets, spec.starting_balance, publish, bus.has_subscribers)
        self.broker = SimulatedBroker(markets, spec.fill_model, {market.quote: spec.starting_balance},
                                      width_ms(spec.timeframe), publish)
        if isinstance(clock, ReplayClock):
            clock.bind(bus)
        self.runners = [make(publish) for make in runners]
        # a backtest's recorded model outputs, published by the replay after each candle (see replay)
        self.recorded: list[RecordedPredictions] = []
        self.trader = Trader(market, spec.strategy, inputs, self.portfolio, spec.trader, clock, publish,
                             spec.order_prefix)
        self.orders: list[Order] = []
        self.updates: list[OrderUpdate] = []

        self.candle_topic = topics.candles(market.venue, market.symbol, spec.timeframe)
        for runner in self.runners:
            bus.subscribe(self.candle_topic, runner.on_candle)
        if isinstance(inputs, IncrementalInputs):
            bus.subscribe(self.candle_topic, inputs.on_candle)
        bus.subscribe(self.candle_topic, self.trader.on_candle)
        orders = topics.orders(market.venue, market.symbol)
        bus.subscribe(orders, self._record_order)
        bus.subscribe(orders, self.broker.on_order)
        fills = topics.fills(market.venue, market.symbol)
        bus.subscribe(fills, self.portfolio.on_fill)
        bus.subscribe(fills, self.trader.on_fill)
        updates = topics.order_updates(market.venue, market.symbol)
        bus.subscribe(updates, self.updates.append)
        bus.subscribe(updates, self.trader.on_update)
        if spec.strategy.uses_predictions:
            if not spec.champion:
                raise ValueError(f"strategy {spec.strategy.name} trades on predictions but no model was chosen")
            bus.subscribe(topics.predictions(spec.champion, market.venue, market.symbol), self.trader.on_prediction)

    def _record_order(self, order: Any) -> None:
        if isinstance(order, Order):
            self.orders.append(order)

    def on_market_candle(self, candle: Candle) -> None:
        """A closed candle from the feed (paper): the simulated venue matches first, then the bot sees it."""
        self.broker.on_candle(candle)
        self.bus.publish(self.candle_topic, candle)
