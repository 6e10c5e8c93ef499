"""Machine-readable results: a trades CSV and a JSON report that other tools can load without dopebot."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from dopebot.core.errors import UsageError
from dopebot.core.timeframes import iso
from dopebot.core.types import RoundTrip
from dopebot.trading.metrics import Metrics
from dopebot.trading.result import BacktestResult

TRADE_COLUMNS = ("entry_time", "exit_time", "entry_price", "exit_price", "amount", "fees", "pnl")


def trade_row(trip: RoundTrip) -> dict[str, str]:
    """One trade as strings: ISO UTC times and exact Decimal text."""
    return {"entry_time": iso(trip.entry_time), "exit_time": iso(trip.exit_time),
            "entry_price": str(trip.entry_price), "exit_price": str(trip.exit_price),
            "amount": str(trip.amount), "fees": str(trip.fees), "pnl": str(trip.pnl)}


def trades_csv(trips: list[RoundTrip]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=TRADE_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(trade_row(trip) for trip in trips)
    return buffer.getvalue()


def write_trades_csv(path: str | Path, trips: list[RoundTrip]) -> Path:
    return _write(Path(path), trades_csv(trips))


def json_report(result: BacktestResult, metrics: Metrics) -> dict[str, Any]:
    """Settings, metrics, trades and data gaps: everything needed to judge or reproduce the run."""
    trades = [{**trade_row(trip), "exit_reason": str(trip.exit_reason), "return_pct": trip.return_pct}
              for trip in result.round_trips]
    return {
        "run_id": result.run_id, "strategy": result.strategy, "symbol": result.symbol, "venue": result.venue,
        "timeframe": result.timeframe, "quote": result.quote, "settings": result.settings,
        "metrics": metrics.to_dict(), "trades": trades, "gaps": list(result.gaps),
    }


def write_json_report(path: str | Path, result: BacktestResult, metrics: Metrics) -> Path:
    text = json.dumps(json_report(result, metrics), indent=2, allow_nan=False, default=str)
    return _write(Path(path), text + "\n")


def _write(path: Path, text: str) -> Path:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="")
    except OSError as error:
        raise UsageError(f"cannot write {path}: {error.strerror or error}") from None
    return path
