"""Raw-database leak scanner: proves plaintext never reached the storage.

Reads what an attacker with the disk or a dump would read: the SQLite file
with its -wal (and -journal) beside it, or a `pg_dump` of PostgreSQL. Looks for
each plaintext in the encodings a careless write could use. Findings name the
position of the needle in the list, never the value, so test output stays
free of personal data.

    from tests.leakscan import raw_database_bytes, find_leaks
    assert find_leaks(raw_database_bytes(), needles) == []

Data must be committed to be on disk: use `@pytest.mark.django_db(transaction=True)`
(tests/settings.py keeps the SQLite test database in a file for this). A test whose
needles are common names calls `clean_slate()` first: the SQLite file is shared by the
whole run, and the free pages of earlier tests' flushed rows (staff accounts in clear by
design, the plaintext twin of the benchmarks) may hold a "BERNARD" that this test's
patients never wrote.
"""

import base64
import os
import shutil
import subprocess
import unicodedata
from pathlib import Path

from django.db import connection

MIN_LENGTH = 4  # shorter needles match random bytes by chance


def _strip_accents(text: str) -> str:
    return "".join(
        c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)
    )


def variants(text: str) -> set[bytes]:
    forms = {text, text.upper(), text.lower(), _strip_accents(text), _strip_accents(text).upper()}
    forms |= {f.replace(" ", "") for f in forms}
    out: set[bytes] = set()
    for form in forms:
        if len(form) < MIN_LENGTH:
            continue
        utf8 = form.encode("utf-8")
        out |= {utf8, form.encode("utf-16-le"), form.encode("utf-16-be"), utf8.hex().encode()}
        out.add(base64.b64encode(utf8).rstrip(b"="))
        try:
            out.add(form.encode("latin-1"))
        except UnicodeEncodeError:
            pass
    return out


def find_leaks(blob: bytes, needles: list[str]) -> list[str]:
    """Descriptions of the needles found, as 'needle #i (encoding length n)'."""
    found = []
    for position, needle in enumerate(needles):
        for form in variants(needle):
            if form in blob:
                found.append(f"needle #{position} found ({len(form)} bytes)")
                break
    return found


def clean_slate() -> None:
    """SQLite: fold the WAL into the file and rebuild it without free pages, so the bytes
    scanned later are only what the test itself writes (PostgreSQL: a dump has no free
    pages). Before the test's writes, never at scan time: a row the product writes in
    clear and deletes again must still be found in the free pages."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            cursor.execute("VACUUM")


def read_outside(path) -> bytes:
    """A file's bytes, read by a child process (`cat`), never opened by this one.

    SQLite's locks are POSIX locks, owned by the process: closing any descriptor of the
    database file, its -wal or its -shm in this process releases those its open connection
    holds (https://sqlite.org/howtocorrupt.html, 2.2). Another process (a CLI the test
    runs, its forked workers) then believes it is the last connection and, as it closes,
    checkpoints and deletes the WAL under this one: stale reads, then "database disk image
    is malformed" (tests/vault/test_leakscan.py replays it)."""
    return subprocess.run(["cat", "--", str(path)], check=True, capture_output=True).stdout  # noqa: S603, S607


def files_under(roots) -> dict[Path, bytes]:
    """Every file under `roots` (a missing root is empty), each read outside this process:
    a data directory holds the SQLite test database (see read_outside)."""
    found = {}
    for root in map(Path, roots):
        for path in sorted(root.rglob("*")) if root.exists() else []:
            if path.is_file():
                try:
                    found[path] = read_outside(path)
                except subprocess.CalledProcessError:
                    if path.exists():  # not a spool removed meanwhile: a real failure
                        raise
    return found


def raw_database_bytes() -> bytes:
    """Every byte the current database keeps on disk (SQLite) or gives in a dump (PostgreSQL)."""
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        name = connection.settings_dict["NAME"]
        path = Path(str(name))
        if not path.exists():
            raise RuntimeError("the SQLite test database is in memory: set TEST NAME to a file")
        blob = b""
        for suffix in ("", "-wal", "-journal"):
            part = Path(f"{path}{suffix}")
            if part.exists():
                blob += read_outside(part)
        return blob
    if connection.vendor == "postgresql":
        db = connection.settings_dict
        env = {**os.environ, "PGPASSWORD": db.get("PASSWORD") or ""}
        command = [
            shutil.which("pg_dump") or "pg_dump", "--no-owner", "-h", db["HOST"] or "127.0.0.1",
            "-p", str(db["PORT"] or 5432), "-U", db["USER"], db["NAME"],
        ]
        return subprocess.run(command, env=env, check=True, capture_output=True).stdout  # noqa: S603
    raise RuntimeError(f"no leak scanner for {connection.vendor}")
