"""Shared helpers for benchmarks: one JSON line per figure, medians, load average, peak RSS."""

from __future__ import annotations

import json
import os
import resource
import statistics
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
sys.path.insert(0, str(REPO))


def emit(name: str, value: float | None, unit: str, **extra: Any) -> None:
    line = {"name": name, "value": value, "unit": unit, **extra, "loadavg": load_average()}
    print(json.dumps(line), flush=True)


def skip(name: str, reason: str) -> None:
    print(json.dumps({"name": name, "value": None, "skipped": reason}), flush=True)


def median(values: list[float]) -> float:
    return statistics.median(values)


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def peak_rss_mib(children: bool = False) -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF)
    return usage.ru_maxrss / 1024.0


def cpu_count() -> int:
    return os.cpu_count() or 1
