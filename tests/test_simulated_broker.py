"""The simulated venue's fill rules (README, fill assumptions), one rule per test, exact to the satoshi."""

from __future__ import annotations

from decimal import Decimal

import pytest

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
    Side,
)
from dopebot.execution.simulated import FillModel, SimulatedBroker

MARKET = Market.spot("BTC/USDT", "0.01", "0.00001", min_notional="5")
D = Decimal


class Venue:
    """A broker plus what it published."""

    def __init__(self, fee: str = "0.001", slippage: str = "0", fill_at: str = "next_open",
                 cash: str = "100000", btc: str = "0") -> None:
        self.published: list[object] = []
        self.broker = SimulatedBroker({MARKET.symbol: MARKET}, FillModel(D(fee), D(slippage), fill_at),
                                      {"USDT": D(cash), "BTC": D(btc)}, 60_000,
                                      lambda topic, message: self.published.append(message))

    def fills(self) -> list[Fill]:
        return [m for m in self.published if isinstance(m, Fill)]

    def updates(self, status: OrderStatus) -> list[OrderUpdate]:
        return [m for m in self.published if isinstance(m, OrderUpdate) and m.status is status]


def candle(close_time: int, o: float, h: float, lo: float, c: float) -> Candle:
    return Candle("BTC/USDT", close_time, o, h, lo, c, 1.0)


def market_buy(quote: str = "1000", order_id: str = "b1") -> Order:
    return Order(order_id, "BTC/USDT", Side.BUY, OrderType.MARKET, 60_000, OrderReason.SIGNAL,
                 quote_amount=D(quote))


def sell(kind: OrderType, amount: str, price: str | None, order_id: str, reason: OrderReason,
         group: str | None = None) -> Order:
    return Order(order_id, "BTC/USDT", Side.SELL, kind, 60_000, reason, amount=D(amount),
                 price=D(price) if price else None, group=group)


def test_market_buy_fills_at_next_open_with_adverse_slippage_rounded_to_the_tick() -> None:
    venue = Venue(slippage="10")  # 10 bps
    venue.broker.on_candle(candle(60_000, 100, 101, 99, 100))
    venue.broker.on_order(market_buy("1000"))
    assert venue.fills() == []  # nothing fills on the signal candle
    venue.broker.on_candle(candle(120_000, 40_000.01, 40_100, 39_900, 40_050))
    (fill,) = venue.fills()
    assert fill.price == D("40040.02")  # 40000.01 * 1.001 = 40040.01001 -> up to the next tick
    assert fill.amount == D("0.02497")  # floor(1000 / 40040.02, 0.00001)
    assert fill.fee == D("0.99979930")  # 0.1 % of 999.7992994 rounded up to 1e-8
    assert fill.time == 60_000  # the open of the candle it filled in
    assert fill.fee_currency == "USDT"
    assert venue.broker.balances["USDT"] == D("100000") - fill.price * fill.amount - fill.fee
    assert venue.broker.balances["BTC"] == fill.amount


def test_fill_at_close_uses_the_signal_candle_close() -> None:
    venue = Venue(fill_at="close")
    venue.broker.on_candle(candle(60_000, 100, 101, 99, 100.5))
    venue.broker.on_order(market_buy("1000"))
    (fill,) = venue.fills()
    assert (fill.price, fill.amount, fill.time) == (D("100.50"), D("9.95024"), 60_000)


def test_orders_below_min_notional_or_beyond_funds_are_rejected() -> None:
    venue = Venue(cash="1000")
    venue.broker.on_order(market_buy("4", "small"))
    venue.broker.on_order(market_buy("999.5", "big"))
    venue.broker.on_candle(candle(120_000, 100, 100, 100, 100))
    rejected = venue.updates(OrderStatus.REJECTED)
    assert [u.order_id for u in rejected] == ["small", "big"]
    assert "below the minimum notional 5" in rejected[0].message
    assert "insufficient USDT" in rejected[1].message  # 999.5 + 0.9995 fee > 1000
    assert venue.fills() == [] and venue.broker.balances["USDT"] == D("1000")


def protected(venue: Venue, stop: str, limit: str) -> None:
    venue.broker.on_order(sell(OrderType.STOP, "1", stop, "sl", OrderReason.STOP_LOSS, "g"))
    venue.broker.on_order(sell(OrderType.LIMIT, "1", limit, "tp", OrderReason.TAKE_PROFIT, "g"))


def test_stop_and_take_profit_in_one_candle_fill_the_stop_pessimistically() -> None:
    venue = Venue(btc="1")
    protected(venue, "95", "110")
    venue.broker.on_candle(candle(120_000, 100, 111, 94, 105))
    (fill,) = venue.fills()
    assert (fill.order_id, fill.price, fill.reason) == ("sl", D("95.00"), OrderReason.STOP_LOSS)
    assert [u.order_id for u in venue.updates(OrderStatus.CANCELED)] == ["tp"]


def test_stop_gapped_through_fills_at_the_open() -> None:
    venue = Venue(btc="1", slippage="0")
    protected(venue, "95", "110")
    venue.broker.on_candle(candle(120_000, 90, 92, 88, 91))
    (fill,) = venue.fills()
    assert (fill.order_id, fill.price) == ("sl", D("90.00"))


def test_stop_fill_pays_slippage_and_take_profit_does_not() -> None:
    venue = Venue(btc="2", slippage="100")  # 1 %
    venue.broker.on_order(sell(OrderType.STOP, "1", "95", "sl", OrderReason.STOP_LOSS))
    venue.broker.on_order(sell(OrderType.LIMIT, "1", "110", "tp", OrderReason.TAKE_PROFIT))
    venue.broker.on_candle(candle(120_000, 100, 111, 94, 105))
    prices = {f.order_id: f.price for f in venue.fills()}
    assert prices == {"sl": D("94.05"), "tp": D("110.00")}


def test_open_beyond_take_profit_fills_the_take_profit_first() -> None:
    venue = Venue(btc="1")
    protected(venue, "95", "110")
    venue.broker.on_candle(candle(120_000, 112, 113, 90, 100))
    (fill,) = venue.fills()
    assert (fill.order_id, fill.price) == ("tp", D("110.00"))
    assert [u.order_id for u in venue.updates(OrderStatus.CANCELED)] == ["sl"]


def test_untouched_protection_keeps_resting_and_cancel_removes_it() -> None:
    venue = Venue(btc="1")
    protected(venue, "95", "110")
    venue.broker.on_candle(candle(120_000, 100, 105, 96, 101))
    assert venue.fills() == []
    venue.broker.on_order(CancelOrder("sl", "BTC/USDT", 120_000))
    venue.broker.on_order(CancelOrder("tp", "BTC/USDT", 120_000))
    venue.broker.on_order(CancelOrder("tp", "BTC/USDT", 120_000))
    assert [u.order_id for u in venue.updates(OrderStatus.CANCELED)] == ["sl", "tp"]
    assert venue.updates(OrderStatus.REJECTED)[0].message == "cancel: no such open order"
    venue.broker.on_candle(candle(180_000, 100, 200, 1, 101))
    assert venue.fills() == []


def test_selling_more_than_the_account_holds_is_rejected() -> None:
    venue = Venue(btc="0.5")
    venue.broker.on_order(sell(OrderType.MARKET, "1", None, "s1", OrderReason.SIGNAL))
    venue.broker.on_candle(candle(120_000, 100, 100, 100, 100))
    (update,) = venue.updates(OrderStatus.REJECTED)
    assert "insufficient BTC" in update.message


@pytest.mark.parametrize("fee", ["0", "0.001", "0.0075"])
def test_fee_is_never_negative_and_scales_with_notional(fee: str) -> None:
    venue = Venue(fee=fee)
    venue.broker.on_order(market_buy("5000"))
    venue.broker.on_candle(candle(120_000, 250.0, 250, 250, 250))
    (fill,) = venue.fills()
    assert fill.fee == fill.price * fill.amount * D(fee) >= 0


def test_float_noise_in_a_price_does_not_cost_a_tick() -> None:
    venue = Venue()
    venue.broker.on_order(market_buy("1000"))
    venue.broker.on_candle(candle(120_000, 41117.590000000004, 41120, 41100, 41110))
    (fill,) = venue.fills()
    assert fill.price == D("41117.59")  # rounded to the tick first; only slippage is adverse
