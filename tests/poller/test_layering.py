"""House style rule 1: the sans-I/O modules import only the stdlib, orjson and each other;
and the poller imports nothing from pusherd but its pure protocol package."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

POLLER = Path(__file__).resolve().parents[2] / "poller"
SANS_IO = [
    "model.py",
    "detect.py",
    "routing.py",
    "payloads.py",
    "plan.py",
    "refplan.py",
    "resilience.py",
    "livestate.py",
    "catalogue.py",
    "normalize/status.py",
    "normalize/football.py",
    "normalize/basketball.py",
    "normalize/baseball.py",
    "normalize/common.py",
]


#: I/O, awaiting, and reading time or randomness are the callers' business (house rules 1, 6).
FORBIDDEN = {
    "asyncio",
    "os",
    "random",
    "secrets",
    "socket",
    "ssl",
    "subprocess",
    "threading",
    "time",
    "pathlib",
}


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("module", SANS_IO)
def test_sans_io_modules_import_no_io(module: str) -> None:
    for name in imported(POLLER / module):
        top = name.split(".")[0]
        assert top in sys.stdlib_module_names or top in ("orjson", "poller"), name
        assert top not in FORBIDDEN, name
        if top == "poller":
            assert (
                name.removeprefix("poller.").replace(".", "/") + ".py" in SANS_IO
                or name == "poller.normalize"
            ), name


def test_poller_uses_only_pusherd_protocol() -> None:
    for path in POLLER.rglob("*.py"):
        for name in imported(path):
            if name.startswith("pusherd"):
                assert name.startswith("pusherd.protocol"), f"{path}: {name}"
