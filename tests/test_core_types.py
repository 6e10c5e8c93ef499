"""Ledger types refuse impossible values at construction; money helpers land exactly on a market's grid."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from dopebot.core.money import ceil_to_step, floor_to_step, price_to_step, round_to_step, to_decimal
from dopebot.core.types import (
    EquityPoint,
    Fill,
    Market,
    Order,
    OrderReason,
    OrderStatus,
    OrderType,
    Position,
    RoundTrip,
    Side,
)

D = Decimal
T0 = 1_704_067_200_000  # 2024-01-01T00:00:00Z


def order(**changes: object) -> Order:
    fields: dict[str, object] = {
        "id": "o1", "symbol": "BTC/USDT", "side": Side.BUY, "type": OrderType.MARKET, "time": T0,
        "reason": OrderReason.SIGNAL, "amount": D("0.5"),
    }
    fields.update(changes)
    return Order(**fields)  # type: ignore[arg-type]


def fill(**changes: object) -> Fill:
    fields: dict[str, object] = {
        "id": "f1", "order_id": "o1", "symbol": "BTC/USDT", "side": Side.BUY, "time": T0, "price": D("42000.10"),
        "amount": D("0.5"), "fee": D("0.021"), "fee_currency": "USDT", "reason": OrderReason.SIGNAL,
    }
    fields.update(changes)
    return Fill(**fields)  # type: ignore[arg-type]


# --- Order ----------------------------------------------------------------------------------------------------


def test_valid_orders_build() -> None:
    assert order().amount == D("0.5")
    assert order(amount=None, quote_amount=D("100")).quote_amount == D("100")
    assert order(type=OrderType.LIMIT, side=Side.SELL, price=D("43000")).price == D("43000")
    assert order(type=OrderType.STOP, side=Side.SELL, price=D("40000"), group="g1").group == "g1"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"amount": None}, "order o1: give exactly one of amount and quote_amount"),
        ({"quote_amount": D("100")}, "order o1: give exactly one of amount and quote_amount"),
        ({"amount": D("0")}, "order o1: size must be positive, got 0"),
        ({"amount": D("-0.1")}, "order o1: size must be positive, got -0.1"),
        ({"amount": None, "quote_amount": D("0")}, "order o1: size must be positive, got 0"),
        ({"amount": None, "quote_amount": D("100"), "side": Side.SELL},
         "order o1: quote_amount is only for market buys"),
        ({"amount": None, "quote_amount": D("100"), "type": OrderType.LIMIT, "price": D("1")},
         "order o1: quote_amount is only for market buys"),
        ({"type": OrderType.LIMIT}, "order o1: limit order needs a positive price"),
        ({"type": OrderType.LIMIT, "price": D("0")}, "order o1: limit order needs a positive price"),
        ({"type": OrderType.STOP, "price": D("-1")}, "order o1: stop order needs a positive price"),
    ],
)
def test_invalid_orders_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError) as raised:
        order(**changes)
    assert str(raised.value) == message


@pytest.mark.parametrize("bad", [D("NaN"), D("Infinity")])
def test_non_finite_order_sizes_are_refused_with_a_value_error(bad: Decimal) -> None:
    """to_decimal(float('nan')) is Decimal('NaN'); comparing it raises decimal.InvalidOperation, not ValueError."""
    with pytest.raises(ValueError, match=r"^order o1: "):
        order(amount=bad)


def test_ledger_messages_are_immutable() -> None:
    built = order()
    with pytest.raises(AttributeError):
        built.amount = D("1")  # type: ignore[misc]
    with pytest.raises(AttributeError):
        fill().fee = D("0")  # type: ignore[misc]
    with pytest.raises(AttributeError):
        EquityPoint(T0, D("1"), D("2")).equity = D("4")  # type: ignore[misc]


# --- Fill -----------------------------------------------------------------------------------------------------


def test_a_valid_fill_knows_its_notional() -> None:
    assert fill().notional == D("21000.050")
    assert fill(fee=D("0")).fee == 0


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"price": D("0")}, "fill f1: price and amount must be positive"),
        ({"price": D("-1")}, "fill f1: price and amount must be positive"),
        ({"amount": D("0")}, "fill f1: price and amount must be positive"),
        ({"fee": D("-0.01")}, "fill f1: fee must not be negative"),
    ],
)
def test_invalid_fills_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError) as raised:
        fill(**changes)
    assert str(raised.value) == message


@pytest.mark.parametrize("field", ["price", "fee"])
def test_non_finite_fill_values_are_refused_with_a_value_error(field: str) -> None:
    with pytest.raises(ValueError, match=r"^fill f1: "):
        fill(**{field: D("NaN")})


# --- Market ---------------------------------------------------------------------------------------------------


def test_spot_market_from_a_symbol() -> None:
    market = Market.spot("ETH/BTC", price_step="0.000001", amount_step="0.0001", min_notional="0.0001")
    assert (market.base, market.quote) == ("ETH", "BTC")
    assert (market.price_step, market.amount_step, market.min_amount) == (D("0.000001"), D("0.0001"), D("0.0001"))
    assert market.min_notional == D("0.0001")
    perpetual = Market.spot("BTC/USDT:USDT")
    assert (perpetual.base, perpetual.quote) == ("BTC", "USDT")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"price_step": D("0")}, "BTC/USDT: price, amount and quote steps must be positive"),
        ({"amount_step": D("-0.001")}, "BTC/USDT: price, amount and quote steps must be positive"),
        ({"quote_step": D("0")}, "BTC/USDT: price, amount and quote steps must be positive"),
        ({"min_amount": D("-1")}, "BTC/USDT: minimums and fees must not be negative"),
        ({"min_notional": D("-5")}, "BTC/USDT: minimums and fees must not be negative"),
        ({"taker_fee": D("-0.001")}, "BTC/USDT: minimums and fees must not be negative"),
    ],
)
def test_invalid_markets_are_refused(changes: dict[str, object], message: str) -> None:
    fields: dict[str, object] = {
        "symbol": "BTC/USDT", "base": "BTC", "quote": "USDT", "price_step": D("0.01"), "amount_step": D("0.00001"),
    }
    fields.update(changes)
    with pytest.raises(ValueError) as raised:
        Market(**fields)  # type: ignore[arg-type]
    assert str(raised.value) == message


# --- EquityPoint ----------------------------------------------------------------------------------------------


def test_equity_is_cash_plus_position_value() -> None:
    point = EquityPoint(T0, D("9500.12345678"), D("512.5"))
    assert point.equity == D("10012.62345678")
    assert EquityPoint(T0, D("100"), D("0"), D("100")).equity == D("100")
    assert EquityPoint(T0, D("0"), D("0")).equity == D("0")


def test_equity_that_does_not_add_up_is_refused() -> None:
    with pytest.raises(ValueError) as raised:
        EquityPoint(T0, D("100"), D("50"), D("150.00000001"))
    assert str(raised.value) == "equity 150.00000001 != cash 100 + position value 50"


def test_an_explicit_zero_equity_that_does_not_add_up_is_refused() -> None:
    """Zero is a real equity (a wiped-out account), so it cannot double as 'not given'."""
    with pytest.raises(ValueError) as raised:
        EquityPoint(T0, D("100"), D("50"), D("0"))
    assert str(raised.value) == "equity 0 != cash 100 + position value 50"


amounts = st.builds(lambda units, places: D(units).scaleb(-places),
                    st.integers(min_value=-10**15, max_value=10**15), st.integers(min_value=0, max_value=10))


@given(cash=amounts, position_value=amounts.map(abs), delta=amounts.filter(bool))
def test_equity_is_exact_and_any_other_value_is_refused(
    cash: Decimal, position_value: Decimal, delta: Decimal,
) -> None:
    assert EquityPoint(T0, cash, position_value).equity == cash + position_value
    assert EquityPoint(T0, cash, position_value, cash + position_value).equity == cash + position_value
    assume(cash + position_value + delta != 0)  # explicit zero: see the test above
    with pytest.raises(ValueError):
        EquityPoint(T0, cash, position_value, cash + position_value + delta)


# --- small types ----------------------------------------------------------------------------------------------


def test_status_finality_and_enum_values() -> None:
    assert [status.is_final for status in OrderStatus] == [False, True, True, True]
    assert [str(side) for side in Side] == ["buy", "sell"]
    assert [str(reason) for reason in OrderReason] == ["signal", "stop_loss", "take_profit", "risk", "time"]


def test_position_average_price_and_round_trip_return() -> None:
    assert Position("BTC/USDT", D("0.5"), D("21000"), D("0"), T0).average_price == D("42000")
    assert Position("BTC/USDT", D("0"), D("0"), D("12.5"), None).average_price == 0
    trip = RoundTrip("BTC/USDT", T0, T0 + 60_000, D("100"), D("110"), D("2"), D("0.42"), D("19.58"),
                     OrderReason.TAKE_PROFIT)
    assert trip.return_pct == pytest.approx(0.0979)


# --- money ----------------------------------------------------------------------------------------------------


def test_rounding_examples() -> None:
    assert floor_to_step(D("0.123456"), D("0.00001")) == D("0.12345")
    assert ceil_to_step(D("0.123451"), D("0.00001")) == D("0.12346")
    assert round_to_step(D("0.125"), D("0.01")) == D("0.12")  # half-even
    assert round_to_step(D("0.135"), D("0.01")) == D("0.14")
    assert floor_to_step(D("123.456"), D("0.5")) == D("123.0")
    assert ceil_to_step(D("123.456"), D("0.25")) == D("123.50")
    assert floor_to_step(D("-0.001"), D("0.01")) == D("-0.01")  # towards minus infinity
    assert str(price_to_step(0.1 + 0.2, D("0.01"))) == "0.30"  # quantised to the step's exponent
    assert str(price_to_step(42000.0, D("0.01"))) == "42000.00"


def test_to_decimal_takes_the_shortest_float_repr() -> None:
    assert to_decimal(0.1) == D("0.1")
    assert to_decimal(1e-7) == D("1E-7")
    assert to_decimal(3) == D(3)
    assert str(to_decimal("1.10")) == "1.10"
    exact = D("42000.1")
    assert to_decimal(exact) is exact


steps = st.builds(lambda mantissa, exponent: D(mantissa).scaleb(exponent),
                  st.sampled_from([1, 2, 5, 25, 1, 1]), st.integers(min_value=-8, max_value=1))


@given(value=amounts, step=steps)
@example(value=D("100"), step=D("0.01"))
@example(value=D("-0.00000001"), step=D("0.5"))
def test_floor_and_ceil_bracket_the_value_on_the_grid(value: Decimal, step: Decimal) -> None:
    floor, ceil = floor_to_step(value, step), ceil_to_step(value, step)
    assert floor % step == 0
    assert ceil % step == 0
    assert floor <= value <= ceil
    assert value - floor < step
    assert ceil - value < step
    assert (floor == ceil) is (value % step == 0)


@given(value=amounts, step=steps)
def test_round_picks_the_nearer_grid_point(value: Decimal, step: Decimal) -> None:
    rounded = round_to_step(value, step)
    assert rounded % step == 0
    assert rounded in (floor_to_step(value, step), ceil_to_step(value, step))
    assert abs(value - rounded) <= step / 2


@given(value=amounts, step=steps)
def test_values_already_on_the_grid_are_unchanged(value: Decimal, step: Decimal) -> None:
    on_grid = floor_to_step(value, step)
    assert floor_to_step(on_grid, step) == on_grid
    assert ceil_to_step(on_grid, step) == on_grid
    assert round_to_step(on_grid, step) == on_grid


@given(price=st.floats(min_value=1e-6, max_value=1e9, allow_nan=False, allow_infinity=False), step=steps)
def test_price_to_step_is_exact_and_on_the_grid(price: float, step: Decimal) -> None:
    result = price_to_step(price, step)
    assert result % step == 0
    assert result.as_tuple().exponent == step.as_tuple().exponent
    assert abs(result - to_decimal(price)) <= step / 2


def repr_route(price: float, step: Decimal) -> Decimal:
    """The definition: the float's shortest repr, rounded half-even to the step."""
    return round_to_step(Decimal(repr(price)), step).quantize(step)


near_grid = st.builds(lambda ticks, noise, decimals: ticks / 10**decimals + noise,
                      st.integers(min_value=1, max_value=10**11), st.sampled_from([0.0, 1e-12, -1e-12, 3e-9]),
                      st.integers(min_value=0, max_value=8))


@given(price=near_grid | st.floats(min_value=1e-9, max_value=1e12, allow_nan=False, allow_infinity=False),
       step=steps)
@example(price=41117.590000000004, step=D("0.01"))
@example(price=2.675, step=D("0.01"))  # binary 2.67499999...: the repr says 2.675, half-even gives 2.68
@example(price=0.125, step=D("0.01"))
def test_price_to_step_fast_path_equals_the_repr_definition(price: float, step: Decimal) -> None:
    result = price_to_step(price, step)
    assert result == repr_route(price, step)
    assert str(result) == str(repr_route(price, step))


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_to_decimal_round_trips_every_finite_float(value: float) -> None:
    converted = to_decimal(value)
    assert float(converted) == value
    assert math.copysign(1.0, float(converted)) == math.copysign(1.0, value)
