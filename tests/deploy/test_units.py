"""The systemd units and logrotate file of deploy/ (issue 22, item 4)."""

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.cli_helpers import ETANCHE
from tests.deploy.stack import DEPLOY

pytestmark = pytest.mark.once

UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
TIMERS = sorted((DEPLOY / "systemd").glob("*.timer"))
HARDENING = ("NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes", "UMask=0077",
             "User=etanche", "ProtectHome=yes", "CapabilityBoundingSet=",
             "ReadOnlyPaths=/etc/etanche")


def _rendered(tmp_path: Path) -> Path:
    """The units with ExecStart pointing at this checkout's etanche (verify wants it to exist)."""
    for unit in (*UNITS, *TIMERS):
        text = unit.read_text().replace("/opt/etanche/.venv/bin/etanche", ETANCHE)
        (tmp_path / unit.name).write_text(text)
    return tmp_path


def test_every_service_is_hardened_and_runs_etanche():
    assert {u.name for u in UNITS} >= {"etanche-web@.service", "etanche-worker.service",
                                       "etanche-backup.service", "etanche-export-purge.service",
                                       "etanche-checkpoint.service"}
    for unit in UNITS:
        lines = unit.read_text().splitlines()
        for directive in HARDENING:
            assert directive in lines, f"{unit.name} lacks {directive}"
        assert any(x.startswith("ExecStart=/opt/etanche/.venv/bin/etanche ") for x in lines)
    web = (DEPLOY / "systemd" / "etanche-web@.service").read_text()
    assert "ETANCHE_SERVE_WORKER=0" in web  # one worker, in its own unit
    assert "--host 127.0.0.1" in web  # only nginx reaches the app servers


def test_every_job_has_its_timer():
    jobs = {u.stem for u in UNITS} - {"etanche-web@", "etanche-worker"}
    assert jobs == {t.stem for t in TIMERS}
    for timer in TIMERS:
        assert "OnCalendar=" in timer.read_text() and "Persistent=true" in timer.read_text()


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_accepts_the_units_and_rates_them_well(tmp_path):
    where = _rendered(tmp_path)
    names = [str(where / u.name) for u in (*UNITS, *TIMERS)]
    names = [n.replace("etanche-web@.service", "etanche-web@8001.service") for n in names]
    (where / "etanche-web@8001.service").write_text((where / "etanche-web@.service").read_text())
    verify = subprocess.run([shutil.which("systemd-analyze"), "verify", "--man=no", *names],
                            capture_output=True, text=True, check=False)
    assert verify.returncode == 0 and verify.stderr.strip() == "", verify.stderr
    for unit in UNITS:
        rated = subprocess.run(
            [shutil.which("systemd-analyze"), "security", "--offline=yes", "--threshold=40",
             str(where / unit.name)], capture_output=True, text=True, check=False)
        assert rated.returncode == 0, rated.stdout[-500:]


def test_logrotate_covers_the_files_the_units_write(tmp_path):
    config = (DEPLOY / "logrotate" / "etanche").read_text()
    assert "/var/log/etanche/*.log" in config and "copytruncate" in config
    for unit in UNITS:
        for line in unit.read_text().splitlines():
            if line.startswith("StandardOutput=append:"):
                assert line.split(":", 1)[1].startswith("/var/log/etanche/")
    if shutil.which("logrotate"):
        # The etanche user exists on a server, not here: root stands in for the parse.
        rendered = tmp_path / "etanche"
        rendered.write_text(config.replace("etanche etanche", "root root"))
        check = subprocess.run([shutil.which("logrotate"), "--debug", "--state",
                                str(tmp_path / "state"), str(rendered)],
                               capture_output=True, text=True, check=False)
        errors = [x for x in check.stderr.splitlines() if x.lower().startswith("error")]
        assert check.returncode == 0 and not errors, errors
