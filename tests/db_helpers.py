"""A fresh, committed database for tests that run several `etanche` processes.

On SQLite it is a file in a temporary data directory; when the suite runs on
PostgreSQL (DATABASE_URL set) it is a throwaway database on the same server.
"""

import contextlib
import os
import uuid
from urllib.parse import urlsplit, urlunsplit

from tests.cli_helpers import clean_env, run_etanche


@contextlib.contextmanager
def fresh_instance(tmp_path):
    base_url = os.environ.get("DATABASE_URL")
    extra = {}
    name = None
    if base_url:
        import psycopg

        parts = urlsplit(base_url)
        name = f"etanche_proc_{uuid.uuid4().hex[:12]}"
        admin = urlunsplit(parts._replace(path="/postgres"))
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'create database "{name}"')
        extra["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{name}"))
    env = clean_env(tmp_path / "var", **extra)
    try:
        result = run_etanche("init", env=env)
        assert result.returncode == 0, result.stderr
        yield env
    finally:
        if name:
            import psycopg

            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'drop database if exists "{name}" with (force)')
