"""Export files: where they live, how they are written, and their destruction.

The encryption is the vault's (vault/age.py); this module keeps the file
bookkeeping. The file is written as `<name>.part` (O_EXCL, mode 0600) and
renamed when complete: a killed run leaves only a partial ciphertext, which
the next run or `etanche export purge` deletes. The SHA-256 of the
ciphertext, computed as it is written, lets the recipient check the file.
"""

import hashlib
import io
import os
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings

from etanche.vault import age

# Re-exported: exports name these through this module.
from etanche.vault.age import BadRecipient as BadRecipient
from etanche.vault.age import parse_recipient as parse_recipient

PART = ".part"


def exports_dir() -> Path:
    path = Path(settings.DATA_DIR) / "exports"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


class _HashingFile(io.RawIOBase):
    def __init__(self, fd: int):
        self._file = os.fdopen(fd, "wb", buffering=0)
        self.sha256 = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        data = bytes(data)
        self._file.write(data)
        self.sha256.update(data)
        self.size += len(data)
        return len(data)

    def finish(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()


def encrypt_to_file(chunks: Iterator[bytes], recipient: str, path: Path) -> tuple[str, int]:
    """Stream `chunks` encrypted to `recipient` into `path`; returns (sha256 hex, size)."""
    part = path.with_name(path.name + PART)
    destroy(part)
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    out = _HashingFile(fd)
    try:
        age.encrypt_stream(chunks, recipient, out)
        out.finish()
    except BaseException:
        out.close()
        destroy(part)
        raise
    os.replace(part, path)
    return out.sha256.hexdigest(), out.size


def destroy(path: Path) -> bool:
    """Overwrite with zeros (helps on disks that rewrite in place), then unlink."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return False
    try:
        with open(path, "r+b", buffering=0) as handle:
            block = b"\0" * 65536
            left = size
            while left > 0:
                left -= handle.write(block[: min(left, len(block))])
            os.fsync(handle.fileno())
    except OSError:
        pass  # still unlink: the file is ciphertext, deleting it is what matters
    path.unlink(missing_ok=True)
    return True
