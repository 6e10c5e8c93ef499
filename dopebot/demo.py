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


def main() -> int:
    console = Console()
    settings = load_settings("config.toml" if Path("config.toml").exists() else None)
    settings = override(settings, "bot", data_dir=str(DEMO_DIR), state_file=str(DEMO_DIR / "dopebot.sqlite"))
    settings = override(settings, "exchange", name="binance", symbols=["BTC/USDT"], timeframe="1m")
    try:
        download(settings, console)
        backtests(settings, console)
    except DopebotError as error:
        console.print(f"[red]error: {error}[/red]")
        return error.exit_code
    console.print(Rule("done"))
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


if __name__ == "__main__":
    sys.exit(main())
