"""Typed, frozen settings loaded once from TOML. Unknown keys, wrong types and out-of-range values are
rejected with one line naming the file, the key and the value."""

from __future__ import annotations

import dataclasses
import math
import tomllib
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints

from dopebot.core.errors import ConfigError


def _spec(default: Any, *, low: float | None = None, high: float | None = None,
          choices: tuple[str, ...] | None = None, doc: str = "") -> Any:
    """A setting with its default and the rule it must satisfy."""
    meta = {"low": low, "high": high, "choices": choices, "doc": doc}
    if isinstance(default, list | dict):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True, slots=True)
class BotSettings:
    mode: str = _spec("paper", choices=("paper", "live"), doc="paper trades against a simulated broker")
    bot_id: str = _spec("dopebot", doc="names the state file and the MQTT prefix")
    data_dir: str = _spec("data", doc="where downloaded candles, models and state live")
    state_file: str = _spec("data/dopebot.sqlite", doc="SQLite file holding orders, fills, equity, models")


@dataclass(frozen=True, slots=True)
class ExchangeSettings:
    name: str = _spec("binance")
    symbols: list[str] = _spec(["BTC/USDT"])
    timeframe: str = _spec("1m")
    rate_limit: bool = _spec(True, doc="never disable against a real exchange")
    timeout_ms: int = _spec(10_000, low=100, high=120_000)


@dataclass(frozen=True, slots=True)
class TradingSettings:
    strategy: str = _spec("sma_cross")
    stake_amount: float = _spec(1000.0, low=0.0, doc="quote currency per trade; 0 means use stake_fraction")
    stake_fraction: float = _spec(0.0, low=0.0, high=1.0, doc="fraction of equity per trade when > 0")
    stop_loss: float = _spec(0.0, low=0.0, high=1.0, doc="fraction below entry; 0 disables")
    take_profit: float = _spec(0.0, low=0.0, high=10.0, doc="fraction above entry; 0 disables")
    max_hold: int = _spec(0, low=0, doc="exit after this many candles in a position; 0 disables")


@dataclass(frozen=True, slots=True)
class BacktestSettings:
    starting_balance: float = _spec(10_000.0, low=0.0)
    fee: float = _spec(0.001, low=0.0, high=0.1, doc="fraction of notional per side")
    slippage_bps: float = _spec(2.0, low=0.0, high=1000.0, doc="adverse price move per market fill, in bps")
    fill_at: str = _spec("next_open", choices=("next_open", "close"))
    price_step: str = _spec("0.01", doc="market price tick when the exchange is not asked")
    amount_step: str = _spec("0.00001", doc="market amount step when the exchange is not asked")
    min_notional: str = _spec("5", doc="smallest order value in quote currency")


@dataclass(frozen=True, slots=True)
class RiskSettings:
    max_drawdown: float = _spec(0.5, low=0.0, high=1.0, doc="halt trading when equity falls this far from peak")
    max_position_fraction: float = _spec(1.0, low=0.0, high=1.0, doc="cap on one position's share of equity")


@dataclass(frozen=True, slots=True)
class ModelSettings:
    models_dir: str = _spec("data/models")
    champion: str = _spec("", doc="model id, or empty to use the registry's champion")
    train_threads: int = _spec(2, low=1, high=64)
    inference_threads: int = _spec(1, low=1, high=64)


@dataclass(frozen=True, slots=True)
class TrainSettings:
    label: str = _spec("triple_barrier", choices=("triple_barrier", "regression"))
    take_profit: float = _spec(0.006, low=0.0, high=1.0)
    stop_loss: float = _spec(0.006, low=0.0, high=1.0)
    horizon: int = _spec(60, low=1, high=100_000)
    folds: int = _spec(5, low=2, high=50)
    embargo: int = _spec(0, low=0, doc="candles between train and test; 0 means the label horizon")
    seed: int = _spec(42, low=0)
    target_recall: float = _spec(0.25, low=0.0, high=1.0)


@dataclass(frozen=True, slots=True)
class MqttSettings:
    enabled: bool = _spec(False)
    host: str = _spec("127.0.0.1")
    port: int = _spec(1883, low=1, high=65535)
    topics: list[str] = _spec(["predictions/#", "fills/#", "account/equity"])


@dataclass(frozen=True, slots=True)
class Settings:
    bot: BotSettings = field(default_factory=BotSettings)
    exchange: ExchangeSettings = field(default_factory=ExchangeSettings)
    trading: TradingSettings = field(default_factory=TradingSettings)
    backtest: BacktestSettings = field(default_factory=BacktestSettings)
    risk: RiskSettings = field(default_factory=RiskSettings)
    models: ModelSettings = field(default_factory=ModelSettings)
    train: TrainSettings = field(default_factory=TrainSettings)
    mqtt: MqttSettings = field(default_factory=MqttSettings)
    strategy_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    source: str = "<defaults>"


_SECTIONS = {f.name: f for f in dataclasses.fields(Settings) if f.name not in ("strategy_params", "source")}


def _check_value(where: str, key: str, value: Any, expected: Any, meta: Any) -> Any:
    shown = repr(value) if isinstance(value, str) else value
    prefix = f"{where} {key} = {shown}"
    if get_origin(expected) in (Union, types.UnionType):
        expected = next(a for a in get_args(expected) if a is not type(None))
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    checks = {
        float: (is_number and math.isfinite(value), "must be a finite number"),
        int: (isinstance(value, int) and not isinstance(value, bool), "must be an integer"),
        bool: (isinstance(value, bool), "must be true or false"),
        str: (isinstance(value, str), "must be a string"),
    }
    if get_origin(expected) is list:
        valid, problem = isinstance(value, list) and all(isinstance(v, str) for v in value), "must be a list of strings"
    else:
        valid, problem = checks[expected]
    if not valid:
        raise ConfigError(f"{prefix}: {problem}")
    if expected is float:
        value = float(value)
    low, high, choices = meta.get("low"), meta.get("high"), meta.get("choices")
    if low is not None and high is not None and not low <= value <= high:
        raise ConfigError(f"{prefix}: must be between {low:g} and {high:g}")
    if low is not None and high is None and value < low:
        raise ConfigError(f"{prefix}: must be at least {low:g}")
    if choices and value not in choices:
        raise ConfigError(f"{prefix}: must be one of {', '.join(choices)}")
    return value


def _build_section(cls: type, table: Any, where: str, section: str) -> Any:
    if not isinstance(table, dict):
        raise ConfigError(f"{where} [{section}]: must be a table")
    hints = get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls)}
    values = {}
    for key, value in table.items():
        if key not in known:
            raise ConfigError(f"{where} [{section}] {key}: unknown key (known: {', '.join(known)})")
        values[key] = _check_value(f"{where}: [{section}]", key, value, hints[key], known[key].metadata)
    return cls(**values)


def settings_from_dict(data: dict[str, Any], source: str = "<dict>") -> Settings:
    sections: dict[str, Any] = {}
    strategy_params: dict[str, dict[str, Any]] = {}
    for name, table in data.items():
        if name == "strategies":
            if not isinstance(table, dict) or not all(isinstance(v, dict) for v in table.values()):
                raise ConfigError(f"{source} [strategies]: must hold one table per strategy")
            strategy_params = {k: dict(v) for k, v in table.items()}
            continue
        if name not in _SECTIONS:
            raise ConfigError(f"{source}: unknown section [{name}] (known: {', '.join([*_SECTIONS, 'strategies'])})")
        section_type = get_type_hints(Settings)[name]
        sections[name] = _build_section(section_type, table, source, name)
    return Settings(**sections, strategy_params=strategy_params, source=source)


def load_settings(path: str | Path | None) -> Settings:
    """Read a TOML file (or the defaults when path is None) into validated settings."""
    if path is None:
        return Settings()
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read config file: {getattr(error, 'strerror', None) or error}") from None
    return settings_from_dict(data, str(path))


def override(settings: Settings, section: str, **values: Any) -> Settings:
    """Apply command-line flags (None means 'not given') with the same checks as the file."""
    current = getattr(settings, section)
    given = {k: v for k, v in values.items() if v is not None}
    if not given:
        return settings
    hints = get_type_hints(type(current))
    fields = {f.name: f for f in dataclasses.fields(current)}
    checked = {k: _check_value("command line:", f"--{k.replace('_', '-')}", v, hints[k], fields[k].metadata)
               for k, v in given.items()}
    return dataclasses.replace(settings, **{section: dataclasses.replace(current, **checked)})
