"""Shared pieces of the deployment tests: paths, and the tools they run (never mocked).

A tool that ``scripts/test-setup.sh`` installs fails the test when it is missing (a skip would
hide a broken setup in CI); only the Docker image test is opt-in (``PUSHERD_DOCKER_TESTS=1``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "docker: builds and runs the image; opt in with PUSHERD_DOCKER_TESTS=1"
    )


def require_tool(name: str) -> str:
    """The path of ``name``; fail with the install hint when scripts/test-setup.sh was not run."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"`{name}` is missing: run scripts/test-setup.sh (it installs it)")
    return path
