"""`make demo`: the user path, offline. A local exchange emulator serves a generated market over Binance's
REST protocol; `download` fetches it with the real ccxt; `backtest` replays it through the bot's own code
and prints the report, the trade list and an equity chart. Run with `python -m dopebot.demo`."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from rich.console import Console
from rich.rule import Rule

from dopebot.core.config import Settings, load_settings, override
from dopebot.core.errors import DopebotError

DEMO_DIR = Path("data") / "demo"
CANDLES = 120_000  # about 83 days of 1-minute candles
SINCE = "2024-01-01"
UNTIL = "2024-03-24T08:00"  # the end of the generated market
TRAIN_END = "2024-03-01"


def main() -> int:
    console = Console()
    settings = load_settings("config.toml" if Path("config.toml").exists() else None)
    settings = override(settings, "bot", data_dir=str(DEMO_DIR), state_file=str(DEMO_DIR / "dopebot.sqlite"))
    settings = override(settings, "exchange", name="binance", symbols=["BTC/USDT"], timeframe="1m")
    try:
        download(settings, console)
        backtests(settings, console)
        models(settings, console)
    except DopebotError as error:
        console.print(f"[red]error: {error}[/red]")
        return error.exit_code
    console.print(Rule("done"))
    console.print("The generated market is a random walk with regimes: no strategy has an edge on it, so every "
                  "result above is fees and slippage at work. That is the point of an honest backtest.")
    console.print(f"Files are in {DEMO_DIR}/. Next: `dopebot backtest --help`, `dopebot train --help`.")
    return 0


def download(settings: Settings, console: Console) -> None:
    from dopebot.commands.download import run as run_download
    from dopebot.emulator.market_data import MarketData
    from dopebot.emulator.thread import running_emulator

    console.print(Rule("1. download a generated market from a local Binance emulator with the real ccxt"))
    market = MarketData.generated("BTC/USDT", CANDLES, "1m", seed=7)
    with running_emulator(market) as emulator:
        os.environ["DOPEBOT_EXCHANGE_URL"] = emulator.url
        try:
            run_download(settings, since=SINCE, until=UNTIL)
        finally:
            del os.environ["DOPEBOT_EXCHANGE_URL"]


def backtests(settings: Settings, console: Console) -> None:
    from dopebot.commands.backtest import BacktestOptions
    from dopebot.commands.backtest import run as run_backtest

    console.print(Rule("2. backtest sma_cross: fixed stake, 0.1 % fee, 2 bps slippage, next-open fills"))
    run_backtest(settings, BacktestOptions(strategy="sma_cross", stake_amount=1000.0,
                                           trades_out=DEMO_DIR / "sma_cross-trades.csv",
                                           json_out=DEMO_DIR / "sma_cross.json",
                                           plot=DEMO_DIR / "sma_cross-equity.png"), console)
    console.print(Rule("3. backtest threshold on the momentum baseline's predictions, with stop-loss and take-profit"))
    run_backtest(settings, BacktestOptions(strategy="threshold", stake_fraction=0.5, stop_loss=0.01,
                                           take_profit=0.02, plot=DEMO_DIR / "threshold-equity.html"), console)


def models(settings: Settings, console: Console) -> None:
    """Train on the first two months, then trade the model on the rest: out of sample only."""
    from dopebot.commands.backtest import BacktestOptions
    from dopebot.commands.backtest import run as run_backtest
    from dopebot.commands.train import TrainOptions
    from dopebot.commands.train import run as run_train
    from dopebot.core.clock import WallClock

    console.print(Rule("4. train LightGBM with purged walk-forward validation (Jan-Feb), register the model"))
    outcome = run_train(settings, TrainOptions(end=TRAIN_END, folds=3), WallClock().now_ms())
    console.print(Rule(f"5. backtest {outcome.model_id} out of sample (from {TRAIN_END}), exits from its label"))
    run_backtest(settings, BacktestOptions(model=outcome.model_id, start=TRAIN_END,
                                           plot=DEMO_DIR / "model-equity.png"), console)


if __name__ == "__main__":
    sys.exit(main())
