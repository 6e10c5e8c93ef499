"""Ledger objects <-> table rows. Money is TEXT holding str(Decimal), read back with Decimal(text): exact.

Rows are built in bulk, one list comprehension per table (a year's backtest records ~40,000 rows; a function
call and an enum `.value` per row cost more than the row). Enum fields are StrEnums, i.e. str: SQLite stores
the member as its value text, exactly what `.value` would give."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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


def order_rows(run_id: str, orders: Iterable[Order]) -> list[tuple[Any, ...]]:
    return [(run_id, seq, o.id, o.symbol, o.side, o.type, o.time, o.reason,
             None if o.amount is None else str(o.amount), None if o.quote_amount is None else str(o.quote_amount),
             None if o.price is None else str(o.price), o.group) for seq, o in enumerate(orders)]


def order_from_row(row: Row) -> Order:
    return Order(row[0], row[1], Side(row[2]), OrderType(row[3]), row[4], OrderReason(row[5]),
                 money(row[6]), money(row[7]), money(row[8]), row[9])


UPDATE_COLUMNS = "order_id, symbol, time, status, filled_amount, message"


def update_rows(run_id: str, updates: Iterable[OrderUpdate]) -> list[tuple[Any, ...]]:
    return [(run_id, seq, u.order_id, u.symbol, u.time, u.status, str(u.filled_amount), u.message)
            for seq, u in enumerate(updates)]


def update_from_row(row: Row) -> OrderUpdate:
    return OrderUpdate(row[0], row[1], row[2], OrderStatus(row[3]), exact(row[4]), row[5])


FILL_COLUMNS = "id, order_id, symbol, side, time, price, amount, fee, fee_currency, reason"


def fill_rows(run_id: str, fills: Iterable[Fill]) -> list[tuple[Any, ...]]:
    return [(run_id, seq, f.id, f.order_id, f.symbol, f.side, f.time, str(f.price), str(f.amount), str(f.fee),
             f.fee_currency, f.reason) for seq, f in enumerate(fills)]


def fill_from_row(row: Row) -> Fill:
    return Fill(row[0], row[1], row[2], Side(row[3]), row[4], exact(row[5]), exact(row[6]), exact(row[7]),
                row[8], OrderReason(row[9]))


ROUND_TRIP_COLUMNS = "symbol, entry_time, exit_time, entry_price, exit_price, amount, fees, pnl, exit_reason"


def round_trip_rows(run_id: str, trips: Iterable[RoundTrip]) -> list[tuple[Any, ...]]:
    return [(run_id, seq, t.symbol, t.entry_time, t.exit_time, str(t.entry_price), str(t.exit_price),
             str(t.amount), str(t.fees), str(t.pnl), t.exit_reason) for seq, t in enumerate(trips)]


def round_trip_from_row(row: Row) -> RoundTrip:
    return RoundTrip(row[0], row[1], row[2], exact(row[3]), exact(row[4]), exact(row[5]), exact(row[6]),
                     exact(row[7]), OrderReason(row[8]))


EQUITY_COLUMNS = "time, cash, position_value, equity"


def equity_row(run_id: str, point: EquityPoint) -> tuple[Any, ...]:
    return (run_id, point.time, str(point.cash), str(point.position_value), str(point.equity))


def equity_from_row(row: Row) -> EquityPoint:
    return EquityPoint(row[0], exact(row[1]), exact(row[2]), exact(row[3]))
