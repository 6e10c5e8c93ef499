"""Accounting properties: the portfolio is a fold over fills and never loses a cent."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from dopebot.core.types import Candle, Fill, Market, OrderReason, Side
from dopebot.trading.portfolio import Portfolio

MARKET = Market.spot("BTC/USDT", "0.01", "0.00001")
prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("200000"), places=2)
amounts = st.decimals(min_value=Decimal("0.00001"), max_value=Decimal("50"), places=5)
fee_rates = st.decimals(min_value=Decimal(0), max_value=Decimal("0.01"), places=4)


def make_fill(number: int, side: Side, price: Decimal, amount: Decimal, fee_rate: Decimal) -> Fill:
    fee = (price * amount * fee_rate).quantize(Decimal("0.00000001"))
    return Fill(f"f{number}", f"o{number}", "BTC/USDT", side, number * 60_000, price, amount, fee, "USDT",
                OrderReason.SIGNAL)


@st.composite
def fill_sequences(draw: st.DrawFn) -> list[Fill]:
    """Buys and sells that never sell more than is held."""
    fills, held = [], Decimal(0)
    for number in range(draw(st.integers(1, 30))):
        price, rate = draw(prices), draw(fee_rates)
        if held > 0 and draw(st.booleans()):
            amount = draw(st.sampled_from([held, (held / 2).quantize(Decimal("0.00001")) or held]))
            fills.append(make_fill(number, Side.SELL, price, amount, rate))
            held -= amount
        else:
            amount = draw(amounts)
            fills.append(make_fill(number, Side.BUY, price, amount, rate))
            held += amount
    return fills


@settings(max_examples=200, deadline=None)
@given(fill_sequences(), st.decimals(min_value=Decimal(0), max_value=Decimal(10_000_000), places=2))
def test_cash_plus_position_value_is_equity_at_every_fill(fills: list[Fill], start: Decimal) -> None:
    portfolio = Portfolio({MARKET.symbol: MARKET}, start)
    cash, held = start, Decimal(0)
    for fill in fills:
        portfolio.on_fill(fill)
        signed = fill.amount if fill.side is Side.BUY else -fill.amount
        cash += -signed * fill.price - fill.fee
        held += signed
        point = portfolio.ledger[-1]
        assert portfolio.cash == cash == point.cash
        assert portfolio.amounts["BTC/USDT"] == held
        assert point.position_value == held * fill.price
        assert point.equity == point.cash + point.position_value
        assert fill.fee >= 0
    assert portfolio.fees_paid == sum((f.fee for f in fills), Decimal(0))
    # equity = start + realized pnl + unrealized pnl, with cost including fees
    last = fills[-1].price
    cost = portfolio.costs["BTC/USDT"]
    assert portfolio.equity_point(0, "BTC/USDT", float(last)).equity == start + portfolio.realized_pnl + (
        held * last - cost)


@settings(max_examples=200, deadline=None)
@given(prices, amounts, fee_rates)
def test_round_trip_at_the_same_price_loses_exactly_the_two_fees(price: Decimal, amount: Decimal,
                                                                  rate: Decimal) -> None:
    portfolio = Portfolio({MARKET.symbol: MARKET}, Decimal(1_000_000))
    buy, sell = make_fill(1, Side.BUY, price, amount, rate), make_fill(2, Side.SELL, price, amount, rate)
    portfolio.on_fill(buy)
    portfolio.on_fill(sell)
    (trip,) = portfolio.round_trips
    assert trip.pnl == -(buy.fee + sell.fee)
    assert trip.fees == buy.fee + sell.fee
    assert portfolio.cash == Decimal(1_000_000) - buy.fee - sell.fee
    assert portfolio.realized_pnl == trip.pnl


def test_round_trip_fields_and_partial_exits() -> None:
    portfolio = Portfolio({MARKET.symbol: MARKET}, Decimal(100_000))
    portfolio.on_fill(make_fill(1, Side.BUY, Decimal("100.00"), Decimal("2"), Decimal("0.001")))
    portfolio.on_fill(make_fill(2, Side.SELL, Decimal("110.00"), Decimal("1"), Decimal("0.001")))
    assert portfolio.round_trips == []
    portfolio.on_fill(make_fill(3, Side.SELL, Decimal("120.00"), Decimal("1"), Decimal("0.001")))
    (trip,) = portfolio.round_trips
    assert (trip.entry_time, trip.exit_time) == (60_000, 180_000)
    assert trip.entry_price == Decimal("100") and trip.exit_price == Decimal("115")
    assert trip.fees == Decimal("0.2") + Decimal("0.11") + Decimal("0.12")
    assert trip.pnl == Decimal("230") - Decimal("200") - trip.fees == Decimal("29.57")
    assert portfolio.cash == Decimal(100_000) + trip.pnl


def test_selling_more_than_held_is_refused() -> None:
    portfolio = Portfolio({MARKET.symbol: MARKET}, Decimal(1000))
    portfolio.on_fill(make_fill(1, Side.BUY, Decimal("10"), Decimal("1"), Decimal(0)))
    try:
        portfolio.on_fill(make_fill(2, Side.SELL, Decimal("10"), Decimal("2"), Decimal(0)))
    except ValueError as error:
        assert "only 1 is held" in str(error)
    else:
        raise AssertionError("overselling must fail")


def test_drawdown_is_marked_only_while_holding() -> None:
    portfolio = Portfolio({MARKET.symbol: MARKET}, Decimal(1000))
    portfolio.mark(Candle("BTC/USDT", 60_000, 10, 10, 10, 10, 1))
    assert portfolio.drawdown == 0.0
    portfolio.on_fill(make_fill(1, Side.BUY, Decimal("10"), Decimal("50"), Decimal(0)))
    portfolio.mark(Candle("BTC/USDT", 120_000, 10, 12, 8, 12, 1))  # equity 500 + 600 = 1100 (peak)
    portfolio.mark(Candle("BTC/USDT", 180_000, 12, 12, 8, 8, 1))  # equity 500 + 400 = 900
    assert portfolio.peak_equity == 1100.0
    assert abs(portfolio.drawdown - (1 - 900 / 1100)) < 1e-12
