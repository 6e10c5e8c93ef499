"""Where the time of `dopebot backtest --model ID` goes: the command's steps run in this one process, timed one
by one, printed as one JSON object (seconds). bench/backtest_model.py runs it in fresh processes and reports
the medians; run it alone to look at one phase:

    .venv/bin/python bench/_phases.py --model ID --data FILE [--start 2024-01-01 --end 2025-01-01]

Run it in the folder whose data/models holds the model; the state file is a temporary one.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import argparse  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--start", default="2024-01-01")
    parser.add_argument("--end", default="2025-01-01")
    args = parser.parse_args()
    from dopebot.runtime.process import keep_freed_memory

    keep_freed_memory()  # as the CLI does
    from rich.console import Console

    from dopebot.commands import backtest as command
    from dopebot.commands import backtest_models as models
    from dopebot.core.config import load_settings, override
    from dopebot.models import inference
    from dopebot.runtime.backtest import run_backtest
    from dopebot.trading.loader import load_strategy

    phases: dict[str, float] = {"imports": time.perf_counter() - STARTED}
    inner: dict[str, float] = {}

    def timed(name: str, function):  # type: ignore[no-untyped-def]
        def wrapper(*positional, **keywords):  # type: ignore[no-untyped-def]
            began = time.perf_counter()
            try:
                return function(*positional, **keywords)
            finally:
                inner[name] = time.perf_counter() - began
        return wrapper

    inference.feature_matrix = timed("features", inference.feature_matrix)  # type: ignore[assignment]
    with tempfile.TemporaryDirectory() as folder:
        began = time.perf_counter()
        settings = override(load_settings(None), "bot", state_file=str(Path(folder) / "state.sqlite"))
        options = command.BacktestOptions(data=Path(args.data), start=args.start, end=args.end, model=args.model)
        settings = command.apply_options(settings, options)
        load_strategy(settings.trading.strategy, settings.strategy_params.get(settings.trading.strategy))
        series = command.load_series(settings, options)
        phases["load"] = time.perf_counter() - began
        began = time.perf_counter()
        run = models.prepare(settings, series, args.model, False)
        phases["prepare"] = time.perf_counter() - began
        phases["features"] = inner["features"]
        phases["model_and_predict"] = phases["prepare"] - inner["features"]  # load, verify, predict
        began = time.perf_counter()
        chosen = models.strategy_for(run.settings, run)
        info = command.run_settings(run.settings, series, chosen) | {"model": run.model_id}
        result = run_backtest(command.build_spec(run.settings, chosen, run.model_id), series,
                              {run.model_id: run.outputs}, settings=info)
        phases["replay"] = time.perf_counter() - began
        began = time.perf_counter()
        command.report(run.settings, options, result, Console(file=io.StringIO()))
        phases["report"] = time.perf_counter() - began
    phases["total"] = time.perf_counter() - STARTED
    heavy = sorted(name for name in ("pandas", "lightgbm", "scipy") if name in sys.modules)
    print(json.dumps({**{name: round(value, 4) for name, value in phases.items()}, "fills": len(result.fills),
                      "heavy_imports": heavy}))


if __name__ == "__main__":
    main()
