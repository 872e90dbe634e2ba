"""Run the real `etanche` console script in a subprocess with a chosen environment."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ETANCHE = shutil.which("etanche", path=str(Path(sys.executable).parent)) or "etanche"
# Variables that would leak the test run's own configuration into the child.
# DATABASE_URL too: under a PostgreSQL run it names a database every test would
# share; a child gets SQLite in its own data directory unless the caller passes
# a database of its own (tests/db_helpers.fresh_instance makes one).
_STRIPPED = ("ETANCHE_", "DJANGO_SETTINGS_MODULE", "DATABASE_URL")


def clean_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_STRIPPED)}
    env["ETANCHE_DATA_DIR"] = str(data_dir)
    # No honeypot patients at lab creation unless a test asks (they change every count).
    env["ETANCHE_CANARIES_PER_10K"] = "0"
    env.update(extra)
    return env


def run_etanche(*args: str, env: dict[str, str], timeout: int = 120):
    return subprocess.run(
        [ETANCHE, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )
