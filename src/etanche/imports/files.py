"""The source file's fingerprint for the journal: which file was imported, without its content."""

import hashlib
from pathlib import Path

CHUNK = 1024 * 1024


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
