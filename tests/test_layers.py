"""The layering of DESIGN.md §2, enforced: imports point down only, and core is standard library only."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "dopebot"
LAYERS = {  # package part -> rank; a module may import only ranks at or below its own
    "core": 0,
    "market": 1, "models": 1, "trading": 1,
    "feeds": 2, "execution": 2, "store": 2, "emulator": 2, "bridge": 2,
    "runtime": 3,
    "commands": 4, "reports": 4, "tui": 4, "cli": 4, "demo": 4,
}


def layer_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "cli"


def imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
    return found


def modules() -> list[tuple[str, Path]]:
    return [(".".join(("dopebot", *path.relative_to(PACKAGE).with_suffix("").parts)), path)
            for path in sorted(PACKAGE.rglob("*.py")) if path.name != "__init__.py"]


@pytest.mark.parametrize(("module", "path"), modules(), ids=lambda value: str(value))
def test_imports_point_down(module: str, path: Path) -> None:
    layer = layer_of(module)
    if layer not in LAYERS:
        pytest.fail(f"{module}: package part {layer!r} has no layer; add it to LAYERS")
    for imported in imports(path):
        if not imported.startswith("dopebot."):
            continue
        target = layer_of(imported)
        assert LAYERS.get(target, 99) <= LAYERS[layer], f"{module} ({layer}) imports {imported} ({target})"


def test_core_uses_the_standard_library_only() -> None:
    for module, path in modules():
        if layer_of(module) != "core":
            continue
        for imported in imports(path):
            top = imported.split(".")[0]
            assert top == "dopebot" or top in sys.stdlib_module_names, f"{module} imports {imported}"


def test_no_pickle_anywhere() -> None:
    for module, path in modules():
        assert not {"pickle", "cloudpickle", "joblib", "dill"} & {i.split(".")[0] for i in imports(path)}, module
