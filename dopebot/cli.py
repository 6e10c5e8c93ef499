"""The command line. Thin on purpose: parse options, load config, call one function, and turn a
DopebotError into one line and an exit code. Heavy libraries are imported inside the commands so
`dopebot --help` stays instant."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from dopebot.core.errors import DopebotError

app = typer.Typer(
    name="dopebot",
    help="Terminal trading bot for crypto markets: backtest, train, paper and live trading.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,  # never print locals: they can hold API keys
    add_completion=False,
)
models_app = typer.Typer(help="The model registry: list, show, promote, retire.", no_args_is_help=True)
app.add_typer(models_app, name="models")

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="TOML settings file.")]
DEFAULT_CONFIG = Path("config.toml")


def handled(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the project's errors into one line on stderr and a non-zero exit; tracebacks only when debugging."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except DopebotError as error:
            if os.environ.get("DOPEBOT_DEBUG") == "1":
                raise
            print(f"error: {error}", file=sys.stderr)
            raise typer.Exit(error.exit_code) from None
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            raise typer.Exit(130) from None

    return wrapper


def load(config: Path):
    from dopebot.core.config import load_settings

    if config == DEFAULT_CONFIG and not config.exists():
        return load_settings(None)
    return load_settings(config)


def main() -> None:
    app()


@app.command()
@handled
def download(
    config: ConfigOption = DEFAULT_CONFIG,
    exchange: Annotated[str | None, typer.Option(help="ccxt exchange id, e.g. binance.")] = None,
    symbols: Annotated[str | None, typer.Option(help="Comma-separated, e.g. BTC/USDT,ETH/USDT.")] = None,
    timeframe: Annotated[str | None, typer.Option(help="Candle width, e.g. 1m, 15m, 1h.")] = None,
    since: Annotated[str | None, typer.Option(help="ISO date of the first candle.")] = None,
    until: Annotated[str | None, typer.Option(help="ISO date to stop before (default: now).")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Where Parquet files go.")] = None,
) -> None:
    """Download candles with ccxt into data/<exchange>/<SYMBOL>-<timeframe>.parquet, resuming where it stopped.

    Set DOPEBOT_EXCHANGE_URL=http://127.0.0.1:PORT to send every request to a local server (`dopebot emulator`).
    """
    from dopebot.commands.download import run

    run(load(config), exchange=exchange, symbols=symbols, timeframe=timeframe, since=since, until=until,
        data_dir=data_dir)


@app.command()
@handled
def emulator(
    parquet: Annotated[list[str] | None, typer.Option(help="Serve a candle file: SYMBOL=PATH (repeatable).")] = None,
    generated: Annotated[list[str] | None, typer.Option(help="Serve a generated market for SYMBOL.")] = None,
    timeframe: Annotated[str, typer.Option(help="Candle width of every served symbol.")] = "1m",
    candles: Annotated[int, typer.Option(help="Candles per generated market.")] = 10_000,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0 picks a free one).")] = 8765,
) -> None:
    """Serve candles over Binance spot's REST protocol on 127.0.0.1, for offline dry runs against ccxt."""
    from dopebot.commands.emulator import run

    run(parquet=parquet or [], generated=generated or [], timeframe=timeframe, candles=candles, port=port)


@app.command()
@handled
def backtest(
    config: ConfigOption = DEFAULT_CONFIG,
    strategy: Annotated[str | None, typer.Option(help="Strategy name (see strategies/) or path.")] = None,
    data: Annotated[Path | None, typer.Option(help="Candle Parquet file.")] = None,
    exchange: Annotated[str | None, typer.Option(help="Find the file `download` wrote for this exchange.")] = None,
    symbol: Annotated[str | None, typer.Option(help="Market symbol, e.g. BTC/USDT.")] = None,
    timeframe: Annotated[str | None, typer.Option(help="Candle width of the data, e.g. 1m.")] = None,
    start: Annotated[str | None, typer.Option(help="ISO start (inclusive, candle open time).")] = None,
    end: Annotated[str | None, typer.Option(help="ISO end (exclusive).")] = None,
    stake_amount: Annotated[float | None, typer.Option(help="Quote currency per trade.")] = None,
    stake_fraction: Annotated[float | None, typer.Option(help="Fraction of equity per trade.")] = None,
    starting_balance: Annotated[float | None, typer.Option(help="Starting cash in quote currency.")] = None,
    fee: Annotated[float | None, typer.Option(help="Fee per side as a fraction, e.g. 0.001.")] = None,
    slippage: Annotated[float | None, typer.Option(help="Slippage per market fill in bps.")] = None,
    stop_loss: Annotated[float | None, typer.Option(help="Stop-loss as a fraction below entry.")] = None,
    take_profit: Annotated[float | None, typer.Option(help="Take-profit as a fraction above entry.")] = None,
    model: Annotated[str | None, typer.Option(help="Model id (or 'champion') for the threshold strategy.")] = None,
    thresholds: Annotated[str | None, typer.Option(help="Sweep entry thresholds, LOW:HIGH:STEP.")] = None,
    compare: Annotated[str | None, typer.Option(help="Comma-separated model ids side by side.")] = None,
    trades_out: Annotated[Path | None, typer.Option(help="Write the trade list as CSV.")] = None,
    json_out: Annotated[Path | None, typer.Option(help="Write the report as JSON.")] = None,
    plot: Annotated[Path | None, typer.Option(help="Equity and drawdown chart (.png or .html).")] = None,
    no_record: Annotated[bool, typer.Option("--no-record", help="Do not record the run in SQLite.")] = False,
) -> None:
    """Replay candles through the bot's own bus, strategy, trader, simulated broker and portfolio."""
    from dopebot.commands.backtest import BacktestOptions, run

    run(load(config), BacktestOptions(
        strategy=strategy, data=data, exchange=exchange, symbol=symbol, timeframe=timeframe, start=start,
        end=end, stake_amount=stake_amount, stake_fraction=stake_fraction, starting_balance=starting_balance,
        fee=fee, slippage_bps=slippage, stop_loss=stop_loss, take_profit=take_profit, model=model,
        thresholds=thresholds, compare=compare, trades_out=trades_out, json_out=json_out, plot=plot,
        record=not no_record))
