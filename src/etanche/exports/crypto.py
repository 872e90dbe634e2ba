"""age encryption of an export as it is produced, and destruction of the file.

pyrage's `encrypt_io(reader, writer, recipients)` runs age's STREAM encryption
(64 KiB chunks) pulling plaintext from `reader` and pushing ciphertext to
`writer`. Our reader is a generator adapter: each `readinto` call builds the
next batch of rows on demand, so at any moment the process holds one batch
of plaintext and one age chunk, whatever the size of the export, and the
disk only ever sees ciphertext. The output is one ordinary age file that
`age -d -i key.txt` decrypts.

The file is written as `<name>.part` (O_EXCL, mode 0600) and renamed when
complete: a killed run leaves only a partial ciphertext, which the next run
or `etanche export purge` deletes.
"""

import hashlib
import io
import os
from collections.abc import Iterator
from pathlib import Path

import pyrage
from django.conf import settings
from pyrage import x25519

PART = ".part"


class BadRecipient(ValueError):
    pass


def parse_recipient(text: str) -> str:
    """The canonical form of an age X25519 public key (age1...), or BadRecipient."""
    text = (text or "").strip()
    if not text.lower().startswith("age1"):
        raise BadRecipient("La clé du destinataire doit être une clé publique age (age1…).")
    try:
        return str(x25519.Recipient.from_str(text))
    except pyrage.RecipientError:
        raise BadRecipient("Cette clé publique age n'est pas valide.") from None


def exports_dir() -> Path:
    path = Path(settings.DATA_DIR) / "exports"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


class _ChunkReader(io.RawIOBase):
    """A read-only stream over an iterator of byte chunks (produced lazily)."""

    def __init__(self, chunks: Iterator[bytes]):
        self._chunks = chunks
        self._pending = memoryview(b"")
        self.error: BaseException | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        try:
            while not self._pending:
                chunk = next(self._chunks, None)
                if chunk is None:
                    return 0
                self._pending = memoryview(chunk)
        except BaseException as exc:
            # pyrage would flatten it into EncryptError(str(exc)); keep the original.
            self.error = exc
            raise
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


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
    reader = _ChunkReader(chunks)
    try:
        pyrage.encrypt_io(reader, out, [x25519.Recipient.from_str(recipient)])
        out.finish()
    except BaseException as exc:
        out.close()
        destroy(part)
        if reader.error is not None and reader.error is not exc:
            raise reader.error from None
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
