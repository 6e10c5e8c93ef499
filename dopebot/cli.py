"""The command line. Thin on purpose: parse options, load config, call one function, and turn a
DopebotError into one line and an exit code. Heavy libraries are imported inside the commands so
`dopebot --help` stays instant."""

from __future__ import annotations

import functools
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn

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
    from dopebot.runtime.process import keep_freed_memory

    # LightGBM's OpenMP threads spin-wait by default and crawl on a busy 2-core machine; the policy must be in
    # the environment before OpenMP starts, so it is set here once for every command that may load LightGBM
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    keep_freed_memory()
    try:
        app()
    except SystemExit as done:
        _leave(done.code)
    _leave(0)


def _leave(code: object) -> NoReturn:
    """Exit without tearing the interpreter down: the command has finished, its files and database are
    closed, and freeing a backtest's millions of objects one by one costs ~0.1 s that serves nobody."""
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:
        print(code, file=sys.stderr)
        status = 1
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


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
    settings = load(config)  # before the heavy imports: a config mistake is reported at once
    from dopebot.commands.download import run

    run(settings, exchange=exchange, symbols=symbols, timeframe=timeframe, since=since, until=until,
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
    settings = load(config)
    from dopebot.commands.backtest import BacktestOptions, run

    run(settings, BacktestOptions(
        strategy=strategy, data=data, exchange=exchange, symbol=symbol, timeframe=timeframe, start=start,
        end=end, stake_amount=stake_amount, stake_fraction=stake_fraction, starting_balance=starting_balance,
        fee=fee, slippage_bps=slippage, stop_loss=stop_loss, take_profit=take_profit, model=model,
        thresholds=thresholds, compare=compare, trades_out=trades_out, json_out=json_out, plot=plot,
        record=not no_record))


@app.command()
@handled
def train(
    config: ConfigOption = DEFAULT_CONFIG,
    data: Annotated[Path | None, typer.Option(help="Candle Parquet file (symbol and timeframe from its name).")] = None,
    exchange: Annotated[str | None, typer.Option(help="Find the file `download` wrote for this exchange.")] = None,
    symbol: Annotated[str | None, typer.Option(help="Market symbol, e.g. BTC/USDT.")] = None,
    timeframe: Annotated[str | None, typer.Option(help="Candle width of the data, e.g. 1m.")] = None,
    start: Annotated[str | None, typer.Option(help="ISO start (inclusive, candle open time).")] = None,
    end: Annotated[str | None, typer.Option(help="ISO end (exclusive).")] = None,
    tp: Annotated[float | None, typer.Option("--tp", help="Take-profit barrier as a fraction, e.g. 0.006.")] = None,
    sl: Annotated[float | None, typer.Option("--sl", help="Stop-loss barrier as a fraction.")] = None,
    horizon: Annotated[int | None, typer.Option(help="Label horizon in candles.")] = None,
    label: Annotated[str | None, typer.Option(help="triple_barrier or regression.")] = None,
    folds: Annotated[int | None, typer.Option(help="Walk-forward test folds.")] = None,
    embargo: Annotated[int | None, typer.Option(help="Candles between train and test (at least the horizon).")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed for LightGBM and tuning.")] = None,
    models_dir: Annotated[Path | None, typer.Option(help="Where model files and cards go.")] = None,
    tune: Annotated[int, typer.Option(help="Optuna trials before the final training (0: none).")] = 0,
    objective: Annotated[str, typer.Option(help="Tuning target: precision (at target recall) or sharpe.")] = (
        "precision"),
    second: Annotated[Path | None, typer.Option(help="Candles of a second symbol (e.g. ETH for BTC).")] = None,
    mode: Annotated[str, typer.Option(help="Walk-forward training window: expanding or rolling.")] = "expanding",
    barrier: Annotated[str, typer.Option(help="pct: --tp/--sl are fractions; vol: multiples of volatility.")] = (
        "pct"),
    json_out: Annotated[Path | None, typer.Option(help="Write the report as JSON.")] = None,
) -> None:
    """Train a LightGBM model with purged walk-forward validation, save it with its card, register it."""
    settings = load(config)
    from dopebot.commands.train import TrainOptions, run
    from dopebot.core.clock import WallClock

    run(settings, TrainOptions(
        data=data, exchange=exchange, symbol=symbol, timeframe=timeframe, start=start, end=end, take_profit=tp,
        stop_loss=sl, horizon=horizon, label=label, folds=folds, embargo=embargo, seed=seed,
        models_dir=models_dir, tune=tune, objective=objective, second=second, json_out=json_out,
        mode=mode, barrier=barrier), WallClock().now_ms())


@app.command("check-lookahead")
@handled
def check_lookahead(
    config: ConfigOption = DEFAULT_CONFIG,
    data: Annotated[Path | None, typer.Option(help="Candle Parquet file (symbol and timeframe from its name).")] = None,
    symbol: Annotated[str | None, typer.Option(help="Market symbol, e.g. BTC/USDT.")] = None,
    timeframe: Annotated[str | None, typer.Option(help="Candle width of the data, e.g. 1m.")] = None,
    start: Annotated[str | None, typer.Option(help="ISO start (inclusive, candle open time).")] = None,
    end: Annotated[str | None, typer.Option(help="ISO end (exclusive).")] = None,
    model: Annotated[str | None, typer.Option(help="Also check this model's decisions.")] = None,
    cuts: Annotated[int, typer.Option(help="Random cut points to truncate the data at.")] = 10,
    seed: Annotated[int, typer.Option(help="Seed for the cut points.")] = 0,
    second: Annotated[Path | None, typer.Option(help="Candles of a second symbol (e.g. ETH for BTC).")] = None,
    strategy: Annotated[str | None, typer.Option(
        help="Check this strategy's indicators and decisions instead of the built-in features (name or path).",
    )] = None,
) -> None:
    """Prove features, a strategy or a model's decisions use no future candles: recompute on truncated data
    and compare with the full-data values at every row before the cut."""
    settings = load(config)
    from dopebot.commands.lookahead import run

    run(settings, data, symbol, timeframe, start, end, model, cuts, seed, second, strategy)


@models_app.command("list")
@handled
def models_list(config: ConfigOption = DEFAULT_CONFIG) -> None:
    """Every registered model with its status, data range and headline metrics."""
    from dopebot.commands.models import list_models

    list_models(load(config))


@models_app.command("show")
@handled
def models_show(model_id: Annotated[str, typer.Argument(help="Model id.")],
                config: ConfigOption = DEFAULT_CONFIG) -> None:
    """A model's card and its status history."""
    from dopebot.commands.models import show

    show(load(config), model_id)


@models_app.command("promote")
@handled
def models_promote(model_id: Annotated[str, typer.Argument(help="Model id.")],
                   config: ConfigOption = DEFAULT_CONFIG) -> None:
    """Make a model the champion; the old champion becomes a challenger."""
    from dopebot.commands.models import promote
    from dopebot.core.clock import WallClock

    promote(load(config), model_id, WallClock().now_ms())


@models_app.command("retire")
@handled
def models_retire(model_id: Annotated[str, typer.Argument(help="Model id.")],
                  config: ConfigOption = DEFAULT_CONFIG) -> None:
    """Take a model out of use for good."""
    from dopebot.commands.models import retire
    from dopebot.core.clock import WallClock

    retire(load(config), model_id, WallClock().now_ms())


