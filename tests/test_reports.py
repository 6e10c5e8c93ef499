"""Reports: exact CSV rows, a JSON report that loads back, charts in both formats, the summary table."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from dopebot.core.errors import UsageError
from dopebot.reports.exports import json_report, write_json_report, write_trades_csv
from dopebot.reports.plot import chart_points, write_chart
from dopebot.reports.summary import summary_table
from dopebot.trading.metrics import compute_metrics
from tests.test_metrics import T0, hand_result


def test_trades_csv_rows_are_exact(tmp_path: Path) -> None:
    path = write_trades_csv(tmp_path / "out" / "trades.csv", hand_result().round_trips)
    assert path.read_text(encoding="utf-8").splitlines() == [
        "entry_time,exit_time,entry_price,exit_price,amount,fees,pnl",
        "2024-01-01T01:00:00Z,2024-01-01T02:00:00Z,100,110,1,0.21,9.79",
        "2024-01-01T03:00:00Z,2024-01-01T03:00:00Z,99,95,2,0.388,-8.388",
        "2024-01-01T04:00:00Z,2024-01-01T05:00:00Z,108.9,121,1,0.2299,11.8701",
    ]


def test_trades_csv_without_trades_has_only_the_header(tmp_path: Path) -> None:
    path = write_trades_csv(tmp_path / "trades.csv", [])
    assert path.read_text(encoding="utf-8") == "entry_time,exit_time,entry_price,exit_price,amount,fees,pnl\n"


def test_json_report_loads_and_matches(tmp_path: Path) -> None:
    result = hand_result()
    metrics = compute_metrics(result)
    path = write_json_report(tmp_path / "report.json", result, metrics)
    report = json.loads(path.read_text(encoding="utf-8"))
    assert report == json.loads(json.dumps(json_report(result, metrics)))
    assert report["settings"] == result.settings
    assert report["metrics"] == metrics.to_dict()
    assert report["gaps"] == result.gaps
    assert [trade["pnl"] for trade in report["trades"]] == ["9.79", "-8.388", "11.8701"]
    assert report["trades"][0]["entry_time"] == "2024-01-01T01:00:00Z"
    assert report["trades"][0]["exit_reason"] == "take_profit"
    assert Decimal(report["metrics"]["fees_paid"]) == Decimal("0.8279")


def test_png_chart(tmp_path: Path) -> None:
    path = write_chart(tmp_path / "equity.png", hand_result())
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_html_chart_is_self_contained_svg(tmp_path: Path) -> None:
    text = write_chart(tmp_path / "equity.html", hand_result()).read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "<svg" in text and "</svg>" in text
    assert "<script" not in text and "<?xml" not in text


def test_unsupported_chart_extension_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"\.jpg"):
        write_chart(tmp_path / "equity.jpg", hand_result())
    assert not (tmp_path / "equity.jpg").exists()


def test_chart_downsampling_keeps_the_deepest_drawdown() -> None:
    count = 200_000
    equity = 1000 + np.sin(np.arange(count) / 5000) * 100
    equity[123_457] = 500.0  # a one-candle crash must still show
    result = hand_result(time=T0 + 60_000 * np.arange(1, count + 1, dtype=np.int64), close=equity,
                         equity=equity, position=np.zeros(count))
    keep = chart_points(result, 4_000)
    assert len(keep) <= 4_004
    assert 123_457 in keep and 0 in keep and count - 1 in keep


def test_summary_table_shows_metrics_and_assumptions() -> None:
    result = hand_result()
    console = Console(record=True, width=120, color_system=None)
    console.print(summary_table(result, compute_metrics(result)))
    text = console.export_text()
    labels = ("period", "candles", "total return", "CAGR", "Sharpe", "Sortino", "max drawdown", "Calmar",
              "trades", "win rate", "profit factor", "average trade", "exposure", "fees paid", "buy and hold")
    for label in labels:
        assert label in text
    assert "2024-01-01T00:00:00Z → 2024-01-01T05:00:00Z" in text
    assert "21.00 %" in text  # total return and buy and hold
    assert "10.00 %" in text  # max drawdown
    assert "66.67 %" in text  # win rate
    assert "0.83 USDT" in text  # fees
    assert "0.1 % of notional per side" in text and "2 bps per market fill" in text and "fills at" in text
