"""Ledger objects <-> table rows. Money is TEXT holding str(Decimal), read back with Decimal(text): exact."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from dopebot.core.types import (
    EquityPoint,
    Fill,
    Order,
    OrderReason,
    OrderStatus,
    OrderType,
    OrderUpdate,
    RoundTrip,
    Side,
)

Row = Sequence[Any]


def money_text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def money(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def exact(text: str) -> Decimal:
    return Decimal(text)


ORDER_COLUMNS = "id, symbol, side, type, time, reason, amount, quote_amount, price, group_id"


def order_row(run_id: str, sequence: int, order: Order) -> tuple[Any, ...]:
    return (run_id, sequence, order.id, order.symbol, order.side.value, order.type.value, order.time,
            order.reason.value,
            money_text(order.amount), money_text(order.quote_amount), money_text(order.price), order.group)


def order_from_row(row: Row) -> Order:
    return Order(row[0], row[1], Side(row[2]), OrderType(row[3]), row[4], OrderReason(row[5]),
                 money(row[6]), money(row[7]), money(row[8]), row[9])


UPDATE_COLUMNS = "order_id, symbol, time, status, filled_amount, message"


def update_row(run_id: str, sequence: int, update: OrderUpdate) -> tuple[Any, ...]:
    return (run_id, sequence, update.order_id, update.symbol, update.time, update.status.value,
            str(update.filled_amount), update.message)


def update_from_row(row: Row) -> OrderUpdate:
    return OrderUpdate(row[0], row[1], row[2], OrderStatus(row[3]), exact(row[4]), row[5])


FILL_COLUMNS = "id, order_id, symbol, side, time, price, amount, fee, fee_currency, reason"


def fill_row(run_id: str, sequence: int, fill: Fill) -> tuple[Any, ...]:
    return (run_id, sequence, fill.id, fill.order_id, fill.symbol, fill.side.value, fill.time,
            str(fill.price), str(fill.amount), str(fill.fee), fill.fee_currency, fill.reason.value)


def fill_from_row(row: Row) -> Fill:
    return Fill(row[0], row[1], row[2], Side(row[3]), row[4], exact(row[5]), exact(row[6]), exact(row[7]),
                row[8], OrderReason(row[9]))


ROUND_TRIP_COLUMNS = "symbol, entry_time, exit_time, entry_price, exit_price, amount, fees, pnl, exit_reason"


def round_trip_row(run_id: str, sequence: int, trip: RoundTrip) -> tuple[Any, ...]:
    return (run_id, sequence, trip.symbol, trip.entry_time, trip.exit_time, str(trip.entry_price),
            str(trip.exit_price), str(trip.amount), str(trip.fees), str(trip.pnl), trip.exit_reason.value)


def round_trip_from_row(row: Row) -> RoundTrip:
    return RoundTrip(row[0], row[1], row[2], exact(row[3]), exact(row[4]), exact(row[5]), exact(row[6]),
                     exact(row[7]), OrderReason(row[8]))


EQUITY_COLUMNS = "time, cash, position_value, equity"


def equity_row(run_id: str, point: EquityPoint) -> tuple[Any, ...]:
    return (run_id, point.time, str(point.cash), str(point.position_value), str(point.equity))


def equity_from_row(row: Row) -> EquityPoint:
    return EquityPoint(row[0], exact(row[1]), exact(row[2]), exact(row[3]))
