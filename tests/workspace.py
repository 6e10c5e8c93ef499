"""A throwaway bot folder for command tests: a candle file and a config pointing state and models inside it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from dopebot.feeds.history import write_candles


def train_workspace(folder: Path, frame: pd.DataFrame, fee: float) -> tuple[Path, Path]:
    """(candle file, config file) for `train`/`backtest` runs on `frame`, one LightGBM thread."""
    data = folder / "BTC_USDT-1m.parquet"
    write_candles(data, frame)
    config = folder / "config.toml"
    config.write_text(f'[bot]\nstate_file = "{folder / "state.sqlite"}"\n[models]\nmodels_dir = "{folder / "models"}"\n'
                      f'train_threads = 1\n[backtest]\nfee = {fee}\n')
    return data, config
