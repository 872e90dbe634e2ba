"""A throwaway Étanche instance for a benchmark run: data dir, database, Django."""

import contextlib
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

PG_DEFAULT = "postgres://postgres@127.0.0.1:5432/postgres"


@contextlib.contextmanager
def instance(database: str):
    """Set up ETANCHE_DATA_DIR and DATABASE_URL, run `etanche init`, yield the env."""
    data_dir = Path(tempfile.mkdtemp(prefix="etanche-bench-"))
    os.environ["ETANCHE_DATA_DIR"] = str(data_dir)
    os.environ.pop("ETANCHE_SECRET_KEY", None)
    db_name = None
    admin_url = None
    if database == "postgresql":
        import psycopg

        base = os.environ.get("BENCH_POSTGRES_URL", PG_DEFAULT)
        parts = urlsplit(base)
        admin_url = urlunsplit(parts._replace(path="/postgres"))
        db_name = f"etanche_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'create database "{db_name}"')
        os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{db_name}"))
    else:
        os.environ.pop("DATABASE_URL", None)
    # The bench settings add the plaintext baseline app and its URLs to the product's.
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ["ETANCHE_EPHEMERAL_SECRET"] = "1"  # noqa: S105  (a flag)
    try:
        from etanche.lib.datadir import ensure_data_dir, ensure_secret_key

        ensure_data_dir(data_dir)
        ensure_secret_key(data_dir)
        import django

        django.setup()
        from django.core.management import call_command

        call_command("init", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
        yield {k: v for k, v in os.environ.items()}
    finally:
        # The data directory holds a master key and, on SQLite, the database: nothing to keep.
        shutil.rmtree(data_dir, ignore_errors=True)
        # The default checkpoint file lives beside the data directory (lib/datadir.py).
        shutil.rmtree(data_dir.parent / f"{data_dir.name}-checkpoints", ignore_errors=True)
        if db_name:
            from django.db import connections

            connections.close_all()
            import psycopg

            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f'drop database if exists "{db_name}" with (force)')


def machine() -> dict:
    import platform

    model = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = ""
    with contextlib.suppress(OSError), open("/proc/meminfo") as handle:
        kb = int(handle.readline().split()[1])
        memory = f"{kb / 1024 / 1024:.0f} GiB"
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "memory": memory,
        "python": platform.python_version(),
    }
