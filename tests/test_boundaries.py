"""The layers stay apart: the server imports nothing of the facade, the facade reaches the server only
through the embedded default, and no module imports another's private names."""

from __future__ import annotations

import ast
import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest

import hud

PACKAGE = Path(hud.__file__).resolve().parent
SERVER = PACKAGE / "server"
CLI = PACKAGE / "_cli"
#: The facade's one door to the server: the embedded default builds the app in-process.
EMBEDDED = PACKAGE / "_embedded.py"


def _modules(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py"))


def _imports(path: Path) -> Iterator[tuple[str, list[str], int]]:
    """(module, names imported from it, line) of every import in `path`, relative ones resolved."""
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = parts[:-1]  # the package of a module, and of an __init__ alike
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, [], node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, node.module] if node.module else base)
            yield module, [alias.name for alias in node.names], node.lineno


def _is_module(module: str, name: str) -> bool:
    try:
        return importlib.util.find_spec(f"{module}.{name}") is not None
    except ModuleNotFoundError:
        return False


#: What the server may import of the facade: the wire module, and the statistics (pure functions on
#: per-task numbers, numpy/scipy) that the dashboard shows exactly as `JobSummary` and `compare` do,
#: with the intervals they are built from.
SHARED = {"hud._wire", "hud._stats", "hud._intervals"}


@pytest.mark.parametrize("path", _modules(SERVER), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_server_imports_only_the_shared_modules_of_the_facade(path: Path) -> None:
    for module, names, line in _imports(path):
        if module == "hud":
            assert all(f"hud.{name}" in SHARED for name in names), f"{path.name}:{line} imports {names} from hud"
        elif module.startswith("hud.") and not module.startswith("hud.server"):
            assert module in SHARED, f"{path.name}:{line} imports {module}: share it through hud/_wire.py"


def test_the_shared_modules_import_nothing_else_of_hud() -> None:
    for name in SHARED:
        path = PACKAGE / f"{name.split('.')[1]}.py"
        for module, names, line in _imports(path):
            if module == "hud":
                assert all(f"hud.{n}" in SHARED for n in names), f"{path.name}:{line} imports {names} from hud"
            elif module.startswith("hud"):
                assert module in SHARED, f"{path.name}:{line} imports {module}"


FACADE = [p for p in _modules(PACKAGE) if SERVER not in p.parents and CLI not in p.parents and p != EMBEDDED]


@pytest.mark.parametrize("path", FACADE, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_facade_reaches_the_server_only_through_the_embedded_default(path: Path) -> None:
    for module, _names, line in _imports(path):
        assert not module.startswith("hud.server"), f"{path.name}:{line} imports {module}"


def test_wire_module_is_standard_library_only() -> None:
    import sys

    for module, _names, line in _imports(PACKAGE / "_wire.py"):
        top = module.split(".")[0]
        assert top == "__future__" or top in sys.stdlib_module_names, f"_wire.py:{line} imports {module}"


@pytest.mark.parametrize("path", _modules(PACKAGE), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_another_modules_private_names(path: Path) -> None:
    for module, names, line in _imports(path):
        if not module.startswith("hud"):
            continue
        for name in names:
            if name.startswith("_") and not name.startswith("__") and not _is_module(module, name):
                raise AssertionError(f"{path.relative_to(PACKAGE)}:{line} imports private {name} from {module}")
