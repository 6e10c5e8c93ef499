"""Equity and drawdown chart as PNG or self-contained HTML (inline SVG), chosen by the file's extension.

matplotlib is imported lazily and used through Figure objects only (no pyplot, no global backend switch), so
importing this module costs nothing and two charts in one process cannot disturb each other.
"""

from __future__ import annotations

import html
import io
from pathlib import Path

import numpy as np

from dopebot.core.errors import UsageError
from dopebot.store.curve import envelope_indices, sorted_unique
from dopebot.trading.result import BacktestResult

MAX_POINTS = 4_000
FORMATS = {".png": "png", ".html": "html", ".htm": "html"}


def write_chart(path: str | Path, result: BacktestResult, max_points: int = MAX_POINTS) -> Path:
    """Draw equity (with buy and hold) above drawdown; .png or .html, anything else is a UsageError."""
    path = Path(path)
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise UsageError(f"chart {path}: unsupported extension {path.suffix!r}; use .png or .html")
    figure = equity_figure(result, max_points)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if kind == "png":
            figure.savefig(path, format="png", dpi=110)
        else:
            path.write_text(_html_page(result, _svg(figure)), encoding="utf-8")
    except OSError as error:
        raise UsageError(f"cannot write {path}: {error.strerror or error}") from None
    return path


def chart_points(result: BacktestResult, max_points: int = MAX_POINTS) -> np.ndarray:
    """Indices worth drawing: per-bucket extremes of equity and of drawdown, so troughs stay visible."""
    equity = np.asarray(result.equity, dtype=np.float64)
    half = max(4, max_points // 2)
    return sorted_unique(np.concatenate((envelope_indices(equity, half),
                                         envelope_indices(drawdown_curve(equity), half))))


def drawdown_curve(equity: np.ndarray) -> np.ndarray:
    """Fraction below the running peak, as a negative number (0 at new highs)."""
    if len(equity) == 0:
        return equity
    return equity / np.maximum.accumulate(equity) - 1.0


def equity_figure(result: BacktestResult, max_points: int = MAX_POINTS):  # -> matplotlib.figure.Figure
    from matplotlib.figure import Figure

    keep = chart_points(result, max_points)
    equity = np.asarray(result.equity, dtype=np.float64)
    closes = np.asarray(result.close, dtype=np.float64)
    times = np.asarray(result.time, dtype=np.int64)[keep].astype("datetime64[ms]")
    figure = Figure(figsize=(11, 6), layout="constrained")
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=(3, 1))
    top.plot(times, equity[keep], linewidth=1, label="strategy")
    if len(closes) and closes[0] > 0:
        top.plot(times, closes[keep] / closes[0] * float(result.starting_balance), linewidth=0.8,
                 alpha=0.6, label="buy and hold")
    top.set_ylabel(f"equity ({result.quote})")
    top.set_title(f"{result.strategy} on {result.symbol} {result.timeframe} ({result.venue})")
    top.legend(loc="upper left")
    top.grid(alpha=0.3)
    drawdown = drawdown_curve(equity)[keep] * 100
    bottom.fill_between(times, drawdown, 0, color="tab:red", alpha=0.4, linewidth=0)
    bottom.set_ylabel("drawdown (%)")
    bottom.grid(alpha=0.3)
    return figure


def _svg(figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg")
    text = buffer.getvalue()
    return text[text.index("<svg"):]  # drop the XML prolog and doctype: the SVG is inlined in HTML


def _html_page(result: BacktestResult, svg: str) -> str:
    title = html.escape(f"dopebot: {result.strategy} on {result.symbol} {result.timeframe}")
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{title}</title>\n'
            f"<style>body{{font-family:sans-serif;margin:1em}} svg{{max-width:100%;height:auto}}</style>\n"
            f"</head>\n<body>\n<h1>{title}</h1>\n{svg}\n</body>\n</html>\n")
