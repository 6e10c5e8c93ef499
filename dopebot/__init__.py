"""dopebot: a terminal trading bot with one code path for backtest, paper and live."""

__version__ = "0.1.0"
