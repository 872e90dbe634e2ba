"""The data directory and the files `etanche init` creates in it.

Kept free of Django imports so that `etanche init` can prepare the directory
and the secret key before settings are loaded.
"""

import os
import secrets
import stat
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

SECRET_KEY_FILE = "secret_key"  # noqa: S105  (a file name)
SQLITE_FILE = "etanche.sqlite3"


def data_dir() -> Path:
    return Path(os.environ.get("ETANCHE_DATA_DIR") or "./var").resolve()


def secret_key_path(base: Path | None = None) -> Path:
    return (base or data_dir()) / SECRET_KEY_FILE


def checkpoint_path(base: Path | None = None) -> Path:
    """Where signed journal checkpoints go by default: beside the data directory, not in it,
    so that what holds the database (or a copy of the data directory) does not hold them."""
    base = base or data_dir()
    return base.parent / f"{base.name}-checkpoints" / "journal-checkpoints.jsonl"


def ensure_data_dir(base: Path | None = None) -> tuple[Path, bool]:
    """Create the data directory, readable by its owner only. Returns (path, created)."""
    base = base or data_dir()
    created = not base.exists()
    base.mkdir(mode=0o700, parents=True, exist_ok=True)
    return base, created


def ensure_secret_key(base: Path | None = None) -> tuple[Path, bool]:
    """Create the secret key file (mode 0600) unless it exists. Never overwrites."""
    path = secret_key_path(base)
    try:
        # O_EXCL: two concurrent inits cannot both write, and an existing key is kept.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path, False
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secrets.token_urlsafe(50) + "\n")
    return path, True


def read_secret_key(base: Path | None = None) -> str | None:
    path = secret_key_path(base)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ImproperlyConfigured(
            f"{path} is readable by group or others; run: chmod 600 {path}"
        )
    return path.read_text(encoding="utf-8").strip() or None
