"""Load user strategies by name from strategies/ folders, or by path, like freqtrade's resolver."""

from __future__ import annotations

import dataclasses
import importlib.util
import inspect
import sys
from pathlib import Path
from typing import Any

from dopebot.core.errors import StrategyError
from dopebot.trading.strategy import Strategy

PACKAGE_STRATEGIES = Path(__file__).resolve().parents[2] / "strategies"


def search_paths() -> list[Path]:
    """The working directory's strategies/ first (the user's), then the ones shipped with dopebot."""
    paths = [Path.cwd() / "strategies", PACKAGE_STRATEGIES]
    unique: list[Path] = []
    for path in paths:
        if path.is_dir() and path.resolve() not in [p.resolve() for p in unique]:
            unique.append(path)
    return unique


_LOADED: dict[tuple[str, int], dict[str, type[Strategy]]] = {}  # (file, mtime) -> its classes


def _strategies_in(path: Path) -> dict[str, type[Strategy]]:
    """A strategy file's classes, executed once per process unless the file changed since."""
    key = (str(path.resolve()), path.stat().st_mtime_ns)
    if key not in _LOADED:
        _LOADED[key] = _execute(path)
    return _LOADED[key]


def _execute(path: Path) -> dict[str, type[Strategy]]:
    module_name = f"dopebot_user_strategy_{path.stem}_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise StrategyError(f"{path}: cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        raise StrategyError(f"{path}: failed to import: {type(error).__name__}: {error}") from None
    return {cls.name: cls for _, cls in inspect.getmembers(module, inspect.isclass)
            if issubclass(cls, Strategy) and cls is not Strategy and cls.__module__ == module_name}


def available() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for folder in search_paths():
        for file in sorted(folder.glob("*.py")):
            if file.name.startswith("_"):
                continue
            for name in _strategies_in(file):
                found.setdefault(name, file)
    return found


def load_strategy(name_or_path: str, params: dict[str, Any] | None = None) -> Strategy:
    """A strategy instance with validated params; unknown names list the available ones."""
    cls = strategy_class(name_or_path)
    return cls(_params(cls, params or {}))


def strategy_class(name_or_path: str) -> type[Strategy]:
    if name_or_path.endswith(".py"):
        path = Path(name_or_path)
        if not path.exists():
            raise StrategyError(f"strategy file {path} does not exist")
        classes = _strategies_in(path)
        if len(classes) != 1:
            raise StrategyError(f"{path}: expected one Strategy subclass, found {len(classes)}")
        cls = next(iter(classes.values()))
    else:
        known = available()
        if name_or_path not in known:
            raise StrategyError(f"unknown strategy {name_or_path!r}; available: {', '.join(sorted(known)) or 'none'}")
        cls = _strategies_in(known[name_or_path])[name_or_path]
    return cls


def _params(cls: type[Strategy], values: dict[str, Any]) -> Any:
    fields = {f.name for f in dataclasses.fields(cls.Params)}
    unknown = sorted(set(values) - fields)
    if unknown:
        raise StrategyError(f"strategy {cls.name}: unknown parameter(s) {', '.join(unknown)}; "
                            f"known: {', '.join(sorted(fields)) or 'none'}")
    try:
        return cls.Params(**values)
    except (TypeError, ValueError) as error:
        raise StrategyError(f"strategy {cls.name}: {error}") from None
