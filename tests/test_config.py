"""Settings are validated once at the edge: every way a config file can be wrong gives a ConfigError (exit code 2)
whose one-line message names the file, the key and the value; the CLI prints just that line."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from dopebot.cli import DEFAULT_CONFIG, load
from dopebot.core.config import (
    BacktestSettings,
    BotSettings,
    ExchangeSettings,
    MqttSettings,
    RiskSettings,
    Settings,
    load_settings,
    override,
    settings_from_dict,
)
from dopebot.core.errors import ConfigError

REPOSITORY = Path(__file__).resolve().parents[1]
SHIPPED_CONFIG = REPOSITORY / "config.toml"
SECTIONS = [field.name for field in dataclasses.fields(Settings) if field.name not in ("strategy_params", "source")]


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Work in an empty directory so messages show the relative name 'config.toml', as a user would see them."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def config_error(text: str) -> str:
    """Load `text` as ./config.toml; it must fail with a one-line ConfigError whose exit code is 2."""
    Path("config.toml").write_text(text)
    with pytest.raises(ConfigError) as raised:
        load_settings(Path("config.toml"))
    assert raised.value.exit_code == 2
    message = str(raised.value)
    assert "\n" not in message
    return message


# --- failure modes, one per test ------------------------------------------------------------------------------


def test_unknown_section(in_tmp: Path) -> None:
    assert config_error("[riks]\nmax_drawdown = 0.5\n") == (
        "config.toml: unknown section [riks] (known: bot, exchange, trading, backtest, risk, models, train, mqtt, "
        "strategies)"
    )


def test_unknown_key(in_tmp: Path) -> None:
    assert config_error("[risk]\nmax_drawdwn = 0.5\n") == (
        "config.toml [risk] max_drawdwn: unknown key (known: max_drawdown, max_position_fraction)"
    )


def test_string_for_a_number(in_tmp: Path) -> None:
    assert config_error('[risk]\nmax_drawdown = "0.5"\n') == (
        "config.toml: [risk] max_drawdown = '0.5': must be a finite number"
    )


@pytest.mark.parametrize("literal", ["nan", "inf", "-inf"])
def test_non_finite_number(in_tmp: Path, literal: str) -> None:
    assert config_error(f"[trading]\nstake_amount = {literal}\n") == (
        f"config.toml: [trading] stake_amount = {float(literal)}: must be a finite number"
    )


def test_float_for_an_integer(in_tmp: Path) -> None:
    assert config_error("[exchange]\ntimeout_ms = 1500.0\n") == (
        "config.toml: [exchange] timeout_ms = 1500.0: must be an integer"
    )


def test_number_for_a_bool(in_tmp: Path) -> None:
    assert config_error("[exchange]\nrate_limit = 1\n") == (
        "config.toml: [exchange] rate_limit = 1: must be true or false"
    )


def test_number_for_a_string(in_tmp: Path) -> None:
    assert config_error("[bot]\nbot_id = 7\n") == "config.toml: [bot] bot_id = 7: must be a string"


def test_non_list_for_a_list(in_tmp: Path) -> None:
    assert config_error('[exchange]\nsymbols = "BTC/USDT"\n') == (
        "config.toml: [exchange] symbols = 'BTC/USDT': must be a list of strings"
    )


def test_list_holding_a_non_string(in_tmp: Path) -> None:
    assert config_error('[mqtt]\ntopics = ["fills/#", 3]\n') == (
        "config.toml: [mqtt] topics = ['fills/#', 3]: must be a list of strings"
    )


def test_section_that_is_not_a_table(in_tmp: Path) -> None:
    assert config_error('bot = "dopebot"\n') == "config.toml [bot]: must be a table"


def test_strategies_that_are_not_tables(in_tmp: Path) -> None:
    assert config_error("[strategies]\nsma_cross = 20\n") == (
        "config.toml [strategies]: must hold one table per strategy"
    )


def test_out_of_range_between(in_tmp: Path) -> None:
    assert config_error("[risk]\nmax_drawdown = 1.5\n") == (
        "config.toml: [risk] max_drawdown = 1.5: must be between 0 and 1"
    )


def test_out_of_range_integer(in_tmp: Path) -> None:
    assert config_error("[mqtt]\nport = 70000\n") == "config.toml: [mqtt] port = 70000: must be between 1 and 65535"


def test_below_a_lower_bound(in_tmp: Path) -> None:
    assert config_error("[backtest]\nstarting_balance = -1\n") == (
        "config.toml: [backtest] starting_balance = -1: must be at least 0"
    )


def test_bad_choice(in_tmp: Path) -> None:
    assert config_error('[bot]\nmode = "yolo"\n') == "config.toml: [bot] mode = 'yolo': must be one of paper, live"


@pytest.mark.parametrize("text", ["[risk\nmax_drawdown = 0.5\n", "[risk]\nmax_drawdown = 0.5\nmax_drawdown = 0.4\n",
                                  "[risk]\nmax_drawdown = \n"])
def test_invalid_toml(in_tmp: Path, text: str) -> None:
    with pytest.raises(tomllib.TOMLDecodeError) as decode_error:
        tomllib.loads(text)
    assert config_error(text) == f"config.toml: not valid TOML: {decode_error.value}"


def test_missing_file(in_tmp: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(Path("missing.toml"))
    assert (str(raised.value), raised.value.exit_code) == ("missing.toml: config file not found", 2)


def test_a_directory_is_a_config_error_not_a_traceback(in_tmp: Path) -> None:
    """read_text() on a directory raises IsADirectoryError, which load_settings does not catch."""
    Path("conf.d").mkdir()
    with pytest.raises(ConfigError) as raised:
        load_settings(Path("conf.d"))
    assert raised.value.exit_code == 2
    assert str(raised.value).startswith("conf.d: ")
    assert "\n" not in str(raised.value)


def test_a_file_that_is_not_utf8_is_a_config_error_not_a_traceback(in_tmp: Path) -> None:
    """TOML is UTF-8; read_text() raises UnicodeDecodeError (a ValueError), which load_settings does not catch."""
    Path("config.toml").write_bytes(b'[bot]\nbot_id = "caf\xe9"\n')  # Latin-1, as an old editor might save it
    with pytest.raises(ConfigError) as raised:
        load_settings(Path("config.toml"))
    assert raised.value.exit_code == 2
    assert str(raised.value).startswith("config.toml: ")


# --- what loads -----------------------------------------------------------------------------------------------


def test_defaults_load_without_a_file() -> None:
    settings = load_settings(None)
    assert settings == Settings()
    assert settings.source == "<defaults>"
    assert (settings.bot.mode, settings.exchange.name, settings.exchange.symbols) == ("paper", "binance", ["BTC/USDT"])
    assert settings.strategy_params == {}


def test_default_lists_are_not_shared_between_instances() -> None:
    first, second = Settings(), Settings()
    assert first.exchange.symbols is not second.exchange.symbols
    assert first.mqtt.topics is not second.mqtt.topics


def test_settings_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.risk.max_drawdown = 0.9  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.risk = RiskSettings()  # type: ignore[misc]


def test_a_partial_file_keeps_the_other_defaults(in_tmp: Path) -> None:
    Path("config.toml").write_text(
        '[risk]\nmax_drawdown = 0.2\n[trading]\nstake_amount = 500\n[exchange]\nsymbols = ["ETH/USDT", "BTC/USDT"]\n'
        "[strategies.sma_cross]\nfast = 5\nslow = 8\n"
    )
    settings = load_settings(Path("config.toml"))
    assert settings.risk == RiskSettings(max_drawdown=0.2)
    assert settings.trading.stake_amount == 500.0
    assert type(settings.trading.stake_amount) is float  # an integer in a float field becomes a float
    assert settings.exchange == ExchangeSettings(symbols=["ETH/USDT", "BTC/USDT"])
    assert settings.strategy_params == {"sma_cross": {"fast": 5, "slow": 8}}
    assert settings.source == "config.toml"
    assert dataclasses.replace(settings, risk=RiskSettings(), trading=Settings().trading, exchange=ExchangeSettings(),
                               strategy_params={}, source="<defaults>") == Settings()


def test_boundaries_are_inclusive() -> None:
    settings = settings_from_dict({"risk": {"max_drawdown": 0, "max_position_fraction": 1}, "mqtt": {"port": 65535}})
    assert (settings.risk.max_drawdown, settings.risk.max_position_fraction, settings.mqtt.port) == (0.0, 1.0, 65535)


def test_cli_load_uses_defaults_only_when_the_default_file_is_absent(in_tmp: Path) -> None:
    assert load(DEFAULT_CONFIG) == Settings()
    with pytest.raises(ConfigError, match=r"^elsewhere\.toml: config file not found$"):
        load(Path("elsewhere.toml"))
    Path("config.toml").write_text('[bot]\nbot_id = "from-file"\n')
    assert load(DEFAULT_CONFIG).bot == BotSettings(bot_id="from-file")


# --- the shipped config.toml ----------------------------------------------------------------------------------


def test_shipped_config_is_the_defaults_plus_the_strategy_tables() -> None:
    settings = load_settings(SHIPPED_CONFIG)
    assert dataclasses.replace(settings, strategy_params={}, source="<defaults>") == Settings()
    assert settings.strategy_params == {
        "sma_cross": {"fast": 20, "slow": 50},
        "threshold": {"upper": 0.6, "lower": 0.45, "model": "momentum"},
    }


def test_shipped_config_lists_every_key_with_a_comment() -> None:
    data = tomllib.loads(SHIPPED_CONFIG.read_text())
    assert list(data) == [*SECTIONS, "strategies"]
    for section in SECTIONS:
        section_type = type(getattr(Settings(), section))
        assert list(data[section]) == [field.name for field in dataclasses.fields(section_type)], section
    assignments = [line for line in SHIPPED_CONFIG.read_text().splitlines() if re.match(r"^\w+ = ", line)]
    undocumented = [line for line in assignments if not re.search(r"\S\s+# \S", line)]
    assert undocumented == []


# --- override(): command-line values, same checks -------------------------------------------------------------


def test_override_applies_given_values_and_ignores_none() -> None:
    settings = Settings()
    changed = override(settings, "backtest", fee=0, slippage_bps=None, fill_at="close")
    assert changed.backtest == BacktestSettings(fee=0.0, fill_at="close")
    assert type(changed.backtest.fee) is float
    assert settings.backtest == BacktestSettings()  # the original is untouched
    assert dataclasses.replace(changed, backtest=BacktestSettings()) == settings


def test_override_with_nothing_given_returns_the_same_settings() -> None:
    settings = Settings()
    assert override(settings, "trading", stake_amount=None, stop_loss=None) is settings


@pytest.mark.parametrize(
    ("section", "values", "message"),
    [
        ("risk", {"max_drawdown": 1.5}, "command line: --max-drawdown = 1.5: must be between 0 and 1"),
        ("trading", {"stake_amount": -10.0}, "command line: --stake-amount = -10.0: must be at least 0"),
        ("exchange", {"timeout_ms": 1.5}, "command line: --timeout-ms = 1.5: must be an integer"),
        ("trading", {"stop_loss": float("nan")}, "command line: --stop-loss = nan: must be a finite number"),
        ("backtest", {"fill_at": "open"}, "command line: --fill-at = 'open': must be one of next_open, close"),
        ("mqtt", {"enabled": "yes"}, "command line: --enabled = 'yes': must be true or false"),
        ("mqtt", {"topics": "fills/#"}, "command line: --topics = 'fills/#': must be a list of strings"),
    ],
)
def test_override_checks_like_the_file(section: str, values: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        override(Settings(), section, **values)
    assert (str(raised.value), raised.value.exit_code) == (message, 2)


def test_override_keeps_the_other_sections_and_fields() -> None:
    changed = override(Settings(), "mqtt", port=8883, enabled=True)
    assert changed.mqtt == MqttSettings(port=8883, enabled=True)
    assert dataclasses.replace(changed, mqtt=MqttSettings()) == Settings()


# --- end to end: the real CLI ---------------------------------------------------------------------------------

BAD_CONFIG = "[risk]\nmax_drawdown = 1.5\n"
EXPECTED_LINE = "bad.toml: [risk] max_drawdown = 1.5: must be between 0 and 1"


@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[bool, subprocess.CompletedProcess[str]]:
    """`dopebot backtest --config bad.toml` without and with DOPEBOT_DEBUG=1, run at once (each pays the
    command's import time)."""
    directory = tmp_path_factory.mktemp("cli")
    (directory / "bad.toml").write_text(BAD_CONFIG)
    arguments = [str(Path(sys.executable).with_name("dopebot")), "backtest", "--config", "bad.toml"]
    quiet = {key: value for key, value in os.environ.items() if key != "DOPEBOT_DEBUG"}
    processes = {
        debug: subprocess.Popen(arguments, cwd=directory, env={**quiet, "DOPEBOT_DEBUG": "1"} if debug else quiet,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for debug in (False, True)
    }
    results = {}
    for debug, process in processes.items():
        stdout, stderr = process.communicate(timeout=120)
        results[debug] = subprocess.CompletedProcess(arguments, process.returncode, stdout, stderr)
    return results


def test_cli_reports_a_bad_config_in_one_line_with_exit_code_2(cli_runs) -> None:
    run = cli_runs[False]
    assert run.returncode == 2, run.stderr
    assert run.stderr == f"error: {EXPECTED_LINE}\n"
    assert "Traceback" not in run.stderr + run.stdout
    assert run.stdout == ""


def test_cli_shows_the_traceback_when_debugging(cli_runs) -> None:
    run = cli_runs[True]
    assert run.returncode == 1
    assert run.stderr.startswith("Traceback (most recent call last):\n")
    assert run.stderr.splitlines()[-1] == f"dopebot.core.errors.ConfigError: {EXPECTED_LINE}"
