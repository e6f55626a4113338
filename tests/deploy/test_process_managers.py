"""The systemd units and the Supervisor programs: accepted by ``systemd-analyze verify`` and by
supervisord's own config parser, with the limits and stop behaviour a WebSocket server needs."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.deploy.conftest import DEPLOY, require_tool

UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
SUPERVISOR_CONF = DEPLOY / "supervisor" / "pusherd.conf"
#: Where the units expect the venv (their header says how to make it); absent on a test machine.
_INSTALL_PATH_MISSING = re.compile(
    r"^\S+\.service: Command /opt/pusherd/bin/\S+ is not executable: No such file or directory$"
)


def test_both_units_exist() -> None:
    assert [unit.name for unit in UNITS] == ["pusherd-poller.service", "pusherd.service"]


def test_systemd_analyze_verify_accepts_the_units() -> None:
    analyze = require_tool("systemd-analyze")
    result = subprocess.run(
        [analyze, "verify", *map(str, UNITS)], capture_output=True, text=True, timeout=60
    )
    # verify exits non-zero for the missing /opt/pusherd venv alone; anything else is a defect.
    problems = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if line.strip() and not _INSTALL_PATH_MISSING.match(line)
    ]
    assert not problems, "\n".join(problems)


def _directives(unit: Path) -> dict[str, str]:
    return dict(re.findall(r"(?m)^(\w+)=(.*)$", unit.read_text()))


def test_units_raise_the_descriptor_limit_and_stop_gracefully() -> None:
    server = _directives(DEPLOY / "systemd" / "pusherd.service")
    assert int(server["LimitNOFILE"]) >= 65536
    assert server["ExecStart"].endswith("pusherd --no-poller")
    assert server["KillSignal"] == "SIGTERM"
    assert server["Restart"] == "on-failure"
    poller = _directives(DEPLOY / "systemd" / "pusherd-poller.service")
    assert " -m poller" in poller["ExecStart"]
    for unit in (server, poller):
        assert unit["User"] == "pusherd" and unit["NoNewPrivileges"] == "yes"
        assert unit["EnvironmentFile"] == "/etc/pusherd/pusherd.env"


def test_supervisord_parses_the_programs(tmp_path: Path) -> None:
    python = Path(require_tool("supervisord")).read_text().splitlines()[0].removeprefix("#!")
    # Only what cannot exist on a test machine is swapped: the pusherd user and its log folder.
    text = SUPERVISOR_CONF.read_text()
    assert re.search(r"(?m)^user=pusherd$", text) and "/var/log/pusherd/" in text
    text = re.sub(r"(?m)^user=pusherd$", "user=root", text)
    text = text.replace("/var/log/pusherd/", f"{tmp_path}/")
    (tmp_path / "pusherd.conf").write_text(text)
    (tmp_path / "supervisord.conf").write_text(
        f"[supervisord]\nlogfile={tmp_path}/supervisord.log\n"
        f"[include]\nfiles={tmp_path}/pusherd.conf\n"
    )
    script = (
        "import sys\n"
        "from supervisor.options import ServerOptions\n"
        "options = ServerOptions()\n"
        "options.realize(['-c', sys.argv[1]])\n"
        "for group in options.process_group_configs:\n"
        "    for p in group.process_configs:\n"
        "        print(group.name, p.name, p.stopsignal, p.stopwaitsecs, p.killasgroup)\n"
    )
    result = subprocess.run(
        [python.strip(), "-c", script, str(tmp_path / "supervisord.conf")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(result.stdout.splitlines()) == [
        "pusherd pusherd 15 30 True",
        "pusherd pusherd-poller 15 15 True",
    ]
