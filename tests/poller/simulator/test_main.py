from __future__ import annotations

import pytest

from poller.simulator.__main__ import main


def test_standalone_simulator_prints_its_url(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--duration", "0.05"]) == 0
    assert "http://127.0.0.1:" in capsys.readouterr().out
