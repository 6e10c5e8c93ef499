"""One small error tree: every user-facing failure is a DopebotError turned into one line by the CLI."""

from __future__ import annotations


class DopebotError(Exception):
    """Base of every error the CLI reports as a single line with a non-zero exit code."""

    exit_code = 1


class ConfigError(DopebotError):
    """Malformed configuration: unknown key, wrong type, out-of-range value, missing file."""

    exit_code = 2


class UsageError(DopebotError):
    """Command-line options that contradict each other or name something that does not exist."""

    exit_code = 2


class DataError(DopebotError):
    """Market data that cannot be trusted: NaNs, bad prices, duplicates, disorder, missing files."""

    exit_code = 3


class StrategyError(DopebotError):
    """Unknown strategy or a strategy that breaks the interface."""

    exit_code = 2


class ModelFileError(DopebotError):
    """A model file or card that is missing, corrupt, or does not match its recorded hash or features."""

    exit_code = 4


class ExchangeError(DopebotError):
    """The exchange (or the emulator) refused or failed a request after retries."""

    exit_code = 5


class StoreError(DopebotError):
    """The SQLite state file cannot be opened or has an unexpected schema."""

    exit_code = 6


class RiskHalt(DopebotError):
    """A risk limit stopped trading (e.g. maximum drawdown reached)."""

    exit_code = 7
