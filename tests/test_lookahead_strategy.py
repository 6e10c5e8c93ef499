"""check-lookahead --strategy: the shipped strategies are clean; an indicator that reads close shifted by -1
is caught, counted and named (and the decisions built on it too), through the function and the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from dopebot.cli import app
from dopebot.commands.lookahead import check_strategy
from dopebot.core.errors import DataError
from dopebot.feeds.history import CandleSeries, read_candles, write_candles
from dopebot.feeds.synthetic import generate_candles
from dopebot.models.lookahead import check_strategy_lookahead, cut_points
from dopebot.trading.loader import load_strategy

FRAME = generate_candles(3_000, seed=8)

LEAKY = '''
from dataclasses import dataclass

import numpy as np

from dopebot.trading.strategy import FLAT, LONG, Strategy


@dataclass(frozen=True)
class Close:
    name: str = "close"

    def batch(self, columns):
        return columns["close"].tolist()

    def incremental(self):
        raise NotImplementedError


@dataclass(frozen=True)
class NextClose:
    name: str = "next_close"

    def batch(self, columns):
        shifted = np.roll(columns["close"], -1)  # close shifted by -1: the value at t is close[t + 1]
        values = shifted.tolist()
        values[-1] = None
        return values

    def incremental(self):
        raise NotImplementedError


class LeakyStrategy(Strategy):
    name = "leaky_next_close"

    def indicators(self):
        return [Close(), NextClose()]

    def target(self, values, prediction, holding):
        close, upcoming = values
        if upcoming is None:
            return None
        return LONG if upcoming > close else FLAT
'''


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("strategy_lookahead")
    data = tmp / "BTC_USDT-1m.parquet"
    write_candles(data, FRAME)
    leaky = tmp / "leaky.py"
    leaky.write_text(LEAKY)
    config = tmp / "config.toml"
    config.write_text("")
    return {"data": data, "leaky": leaky, "config": config}


@pytest.fixture(scope="module")
def series(files: dict[str, Path]) -> CandleSeries:
    return read_candles(files["data"], "BTC/USDT", 60_000)


def test_shipped_sma_cross_is_clean(series: CandleSeries) -> None:
    report = check_strategy("sma_cross", series, 6, seed=1)
    assert report.clean and len(report.cuts) == 6
    assert report.mismatches == {"sma_cross_20_50": 0}  # the indicator was checked, and nothing changed
    assert report.decision_mismatches == {"flat": 0, "holding": 0}
    assert report.cuts[0] > 50 and report.cuts[-1] == len(FRAME) - 1  # cuts after the indicator's warm-up


@pytest.mark.parametrize("name", ["threshold", "lgbm_threshold"])
def test_shipped_prediction_strategies_are_clean(series: CandleSeries, name: str) -> None:
    report = check_strategy(name, series, 4, seed=2)
    assert report.clean and report.mismatches == {} and report.decision_mismatches == {"flat": 0, "holding": 0}


def test_an_indicator_reading_the_next_close_is_caught_and_named(files: dict[str, Path],
                                                                 series: CandleSeries) -> None:
    strategy = load_strategy(str(files["leaky"]))
    columns = {name: series.column(name) for name in ("open", "high", "low", "close", "volume")}
    cuts = cut_points(len(series), 6, seed=3, minimum=2)
    report = check_strategy_lookahead(strategy, columns, cuts)
    assert not report.clean and report.leaky_indicators == ["next_close"]
    # each prefix's last row has no next close (None) where the full data has one: one row per cut
    assert report.mismatches == {"close": 0, "next_close": len(cuts)}
    assert report.first_mismatch == {"next_close": cuts[0] - 1}
    assert report.decision_mismatches == {"flat": len(cuts), "holding": len(cuts)}
    assert report.first_decision_mismatch == {"flat": cuts[0] - 1, "holding": cuts[0] - 1}
    with pytest.raises(DataError) as caught:  # the command: same cuts (no warm-up), only the leaky one named
        check_strategy(str(files["leaky"]), series, 6, seed=3)
    assert str(caught.value).endswith(f"strategy leaky_next_close: indicator values change when later candles are "
                                      f"removed: next_close ({len(cuts)} rows, first at row {cuts[0] - 1:,})")


def test_cli_checks_a_strategy_and_fails_in_one_line_on_a_leak(files: dict[str, Path]) -> None:
    runner = CliRunner()
    base = ["check-lookahead", "-c", str(files["config"]), "--data", str(files["data"]), "--cuts", "4"]
    clean = runner.invoke(app, [*base, "--strategy", "sma_cross"])
    assert clean.exit_code == 0, clean.output
    assert "lookahead check of strategy sma_cross" in clean.output and "indicator sma_cross_20_50" in clean.output
    leaky = runner.invoke(app, [*base, "--strategy", str(files["leaky"])])
    assert leaky.exit_code == 3
    errors = [line for line in leaky.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in leaky.output
    assert "strategy leaky_next_close" in errors[0] and "next_close (4 rows" in errors[0]
    unknown = runner.invoke(app, [*base, "--strategy", "no_such_strategy"])
    assert unknown.exit_code == 2 and "unknown strategy 'no_such_strategy'" in unknown.output
