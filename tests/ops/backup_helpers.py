"""Installations, custodians' age keys and probes for the escrow, backup and drill tests."""

import contextlib
import os
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from pyrage import x25519

from tests.cli_helpers import clean_env, run_etanche
from tests.db_helpers import fresh_instance

HERE = Path(__file__).resolve().parent


def custodian(tmp_path: Path, name: str) -> tuple[str, Path]:
    """(age public key, identity file) of a synthetic custodian."""
    identity = x25519.Identity.generate()
    path = tmp_path / f"{name}.key"
    path.write_text(f"# {name}\n{identity}\n", encoding="utf-8")
    path.chmod(0o600)
    return str(identity.to_public()), path


def ok(result):
    assert result.returncode == 0, result.stderr[-2000:]
    return result


@contextlib.contextmanager
def populated(tmp_path: Path, patients: int = 12):
    """A running installation's data: the demo lab with synthetic patients."""
    with fresh_instance(tmp_path) as env:
        ok(run_etanche("demo", "--patients", str(patients), "--seed", "3", env=env, timeout=300))
        yield env


def _admin_url(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/postgres"))


@contextlib.contextmanager
def empty_instance(tmp_path: Path, name: str = "restored"):
    """A new data directory and, on PostgreSQL, a new empty database: nothing initialised."""
    base_url = os.environ.get("DATABASE_URL")
    extra, db = {}, None
    if base_url:
        import psycopg

        db = f"etanche_restore_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(_admin_url(base_url), autocommit=True) as conn:
            conn.execute(f'create database "{db}"')
        extra["DATABASE_URL"] = urlunsplit(urlsplit(base_url)._replace(path=f"/{db}"))
    env = clean_env(tmp_path / name, **extra)
    try:
        yield env
    finally:
        if db:
            import psycopg

            with psycopg.connect(_admin_url(base_url), autocommit=True) as conn:
                conn.execute(f'drop database if exists "{db}" with (force)')


def probe(env: dict, *, full: bool = False, recipient: str = "", lab: str = "demo") -> dict:
    """Read every patient of `lab` (and with `full`, search one and export) in `env`."""
    code = f"exec(open({str(HERE / 'drill_probe.py')!r}).read())"
    extra = {"PROBE_LAB": lab, "PROBE_FULL": "1" if full else "0", "PROBE_RECIPIENT": recipient}
    result = ok(run_etanche("shell", "-c", code, env={**env, **extra}, timeout=300))
    return dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)


def shell(env: dict, code: str) -> str:
    return ok(run_etanche("shell", "-c", code, env=env)).stdout


def master_key_path(env: dict) -> Path:
    return Path(env["ETANCHE_DATA_DIR"]) / "master.key"


def backup_env(env: dict, *recipients: str) -> dict:
    return {**env, "ETANCHE_BACKUP_RECIPIENTS": ",".join(recipients)}
