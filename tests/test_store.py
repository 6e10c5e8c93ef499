"""The state file: exact Decimal round trips, WAL, schema versions, refusal of foreign files, read-only."""

from __future__ import annotations

import itertools
import sqlite3
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dopebot.core.errors import StoreError
from dopebot.core.types import Fill, OrderReason, Side
from dopebot.store.db import open_readonly, open_store
from dopebot.store.runs import (
    EQUITY_MAX_POINTS,
    list_runs,
    load_equity,
    load_fills,
    load_order_updates,
    load_orders,
    load_round_trips,
    load_run,
    record_backtest,
    stored_curve,
)
from dopebot.store.schema import APPLICATION_ID, SCHEMA_VERSION
from dopebot.trading.metrics import compute_metrics
from tests.test_metrics import HOUR, T0, hand_result


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "bot.sqlite"


def test_new_store_is_wal_versioned_and_has_every_table(store_path: Path) -> None:
    db = open_store(store_path)
    connection = db.conn
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert connection.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert connection.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert connection.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert connection.execute("PRAGMA busy_timeout").fetchone()[0] > 0
    expected = {"runs", "orders", "order_updates", "fills", "equity", "round_trips", "models", "model_events",
                "heartbeats"}
    assert expected <= set(db.table_names())
    db.close()
    open_store(store_path).close()  # reopening an up-to-date store is a no-op


def test_backtest_round_trips_the_ledger_exactly(store_path: Path) -> None:
    result = hand_result()
    metrics = compute_metrics(result).to_dict()
    db = open_store(store_path)
    assert record_backtest(db, result, metrics, finished_ms=T0 + 10 * HOUR) == "run-1"
    assert load_fills(db, "run-1") == result.fills
    assert load_orders(db, "run-1") == result.orders
    assert load_order_updates(db, "run-1") == result.updates
    assert load_round_trips(db, "run-1") == result.round_trips
    run = load_run(db, "run-1")
    assert (run.kind, run.status, run.strategy, run.candles) == ("backtest", "finished", "sma_cross", 5)
    assert (run.started, run.finished) == (T0 + 10 * HOUR - 250, T0 + 10 * HOUR)
    assert (run.data_start, run.data_end) == (T0 + HOUR, T0 + 5 * HOUR)
    assert (run.starting_balance, run.final_equity) == (Decimal("1000"), Decimal("1210"))
    assert run.metrics == metrics and run.settings == result.settings and run.gaps == result.gaps
    assert [r.id for r in list_runs(db)] == ["run-1"]


def test_money_columns_are_text(store_path: Path) -> None:
    db = open_store(store_path)
    record_backtest(db, hand_result(), {})
    types = db.conn.execute("SELECT typeof(price), typeof(amount), typeof(fee) FROM fills").fetchall()
    assert set(types) == {("text", "text", "text")}


def test_equity_curve_keeps_every_fill_and_the_exact_end(store_path: Path) -> None:
    result = hand_result(final_cash=Decimal("1210.00000001"), final_equity=Decimal("1210.00000001"))
    db = open_store(store_path)
    record_backtest(db, result, {})
    points = load_equity(db, "run-1")
    assert {fill.time for fill in result.fills} <= {point.time for point in points}
    assert points[-1].time == T0 + 5 * HOUR
    assert points[-1].equity == Decimal("1210.00000001")
    assert all(point.cash + point.position_value == point.equity for point in points)


def test_long_curve_is_downsampled_but_keeps_fills_and_the_trough() -> None:
    count = 527_040
    rng = np.random.default_rng(7)
    equity = 1000 * np.cumprod(1 + rng.normal(0, 0.001, count))
    fill = Fill("f", "o", "BTC/USDT", Side.BUY, T0 + 123_457 * 60_000, Decimal(1), Decimal(1), Decimal(0),
                "USDT", OrderReason.SIGNAL)
    result = hand_result(time=T0 + 60_000 * np.arange(1, count + 1, dtype=np.int64), close=equity / 10,
                         equity=equity, position=np.ones(count), fills=[fill])
    marks = stored_curve(result)
    assert len(marks) <= EQUITY_MAX_POINTS + 3
    assert all(Decimal(cash) + Decimal(value) == Decimal(equity) for _, cash, value, equity in marks)
    times = {time for time, *_ in marks}
    assert fill.time in times
    assert T0 + (int(np.argmin(equity)) + 1) * 60_000 in times


def test_recording_twice_fails_and_a_failed_record_leaves_nothing(store_path: Path) -> None:
    db = open_store(store_path)
    record_backtest(db, hand_result(), {})
    with pytest.raises(StoreError, match="run-1"):
        record_backtest(db, hand_result(), {})
    broken = hand_result(run_id="run-2")
    duplicate = [*broken.fills, broken.fills[0]]
    with pytest.raises(StoreError):
        record_backtest(db, replace(broken, fills=duplicate), {})
    assert db.conn.execute("SELECT count(*) FROM runs WHERE id = 'run-2'").fetchone()[0] == 0
    assert db.conn.execute("SELECT count(*) FROM orders WHERE run_id = 'run-2'").fetchone()[0] == 0


def test_unknown_run_is_a_store_error(store_path: Path) -> None:
    with pytest.raises(StoreError, match="nope"):
        load_run(open_store(store_path), "nope")


def test_newer_schema_is_refused_naming_the_file(store_path: Path) -> None:
    open_store(store_path).close()
    with sqlite3.connect(store_path) as connection:
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    for opener in (open_store, open_readonly):
        with pytest.raises(StoreError) as caught:
            opener(store_path)
        assert str(store_path) in str(caught.value) and "\n" not in str(caught.value)


def test_non_sqlite_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite"
    path.write_bytes(b"this is not a database, just some text that is long enough to look like a header" * 20)
    for opener in (open_store, open_readonly):
        with pytest.raises(StoreError, match="not a SQLite database"):
            opener(path)


def test_someone_elses_sqlite_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE things (x)")
    with pytest.raises(StoreError, match="not a dopebot state file"):
        open_store(path)


def test_readonly_connection_reads_but_cannot_write(store_path: Path) -> None:
    db = open_store(store_path)
    record_backtest(db, hand_result(), {})
    viewer = open_readonly(store_path)
    assert load_fills(viewer, "run-1") == hand_result().fills
    with pytest.raises(sqlite3.OperationalError):
        viewer.execute("DELETE FROM fills")
    with pytest.raises(sqlite3.OperationalError):
        viewer.execute("PRAGMA query_only = OFF; ")
        viewer.execute("INSERT INTO heartbeats (component, time) VALUES ('x', 1)")
    assert db.conn.execute("SELECT count(*) FROM fills").fetchone()[0] == 6


def test_readonly_of_missing_file_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no such state file"):
        open_readonly(tmp_path / "missing.sqlite")
    assert not (tmp_path / "missing.sqlite").exists()


_decimals = st.decimals(min_value=Decimal("0.00000001"), max_value=Decimal("10000000"), places=8,
                        allow_nan=False, allow_infinity=False)
_run_numbers = itertools.count()


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory: pytest.TempPathFactory):
    db = open_store(tmp_path_factory.mktemp("property") / "bot.sqlite")
    yield db
    db.close()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_decimals, _decimals, _decimals | st.just(Decimal("0E-8"))),
                min_size=1, max_size=5))
def test_fills_round_trip_exactly(shared_store, legs: list[tuple[Decimal, Decimal, Decimal]]) -> None:
    run_id = f"property-{next(_run_numbers)}"
    fills = [Fill(f"f{n}", f"o{n}", "BTC/USDT", Side.BUY if n % 2 == 0 else Side.SELL, T0 + HOUR, price,
                  amount, fee, "USDT", OrderReason.SIGNAL) for n, (price, amount, fee) in enumerate(legs)]
    record_backtest(shared_store, hand_result(run_id=run_id, fills=fills, orders=[], updates=[]), {})
    loaded = load_fills(shared_store, run_id)
    assert loaded == fills
    assert [(str(f.price), str(f.amount), str(f.fee)) for f in loaded] == [
        (str(f.price), str(f.amount), str(f.fee)) for f in fills]
