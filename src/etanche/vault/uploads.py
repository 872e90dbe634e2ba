"""Uploaded files encrypted from their first byte, and read back as a stream.

An upload gets its own age X25519 key pair (`new_upload_key`): the file is
encrypted to the public key as its chunks arrive (`EncryptingWriter`, fed by a
Django upload handler: the plaintext never reaches a disk), and the private
key is kept sealed under the lab's keys by the caller (a SealedModel row).
Destroying that row's key and the file makes the upload unreadable.

`open_decrypted(path, identity)` gives a readable binary stream of the
plaintext for the readers (etanche.tabular), decrypted by a thread into a pipe:
nothing in clear is written anywhere, and memory holds one pipe's worth.
`Sha256` fingerprints the plaintext as it passes (the journal's file hash).
"""

import hashlib
import io
import os
import queue
import threading
from contextlib import contextmanager

import pyrage
from pyrage import x25519

_DONE = object()


def new_upload_key() -> tuple[str, str]:
    """(identity "AGE-SECRET-KEY-1...", recipient "age1...")."""
    identity = x25519.Identity.generate()
    return str(identity), str(identity.to_public())


class Sha256:
    def __init__(self):
        self._digest = hashlib.sha256()

    def update(self, data: bytes) -> None:
        self._digest.update(data)

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


class _QueueReader(io.RawIOBase):
    def __init__(self, chunks: queue.Queue):
        self._chunks = chunks
        self._buffer = b""
        self._ended = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._buffer and not self._ended:
            item = self._chunks.get()
            if item is _DONE:
                self._ended = True
            else:
                self._buffer = item
        n = min(len(buffer), len(self._buffer))
        buffer[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n


class EncryptingWriter:
    """`write(chunk)` plaintext, `close()`: `path` holds the age ciphertext (mode 0600)."""

    def __init__(self, path, recipient: str):
        self.path = path
        self.size = 0
        self.sha256 = Sha256()
        self._chunks: queue.Queue = queue.Queue(maxsize=8)
        self._error: BaseException | None = None
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._out = os.fdopen(fd, "wb")
        self._thread = threading.Thread(target=self._run, args=(recipient,), daemon=True)
        self._thread.start()

    def _run(self, recipient: str) -> None:
        try:
            pyrage.encrypt_io(_QueueReader(self._chunks), self._out,
                              [x25519.Recipient.from_str(recipient)])
        except BaseException as exc:  # noqa: BLE001 - handed to the writing thread
            self._error = exc

    def write(self, chunk: bytes) -> None:
        if self._error:
            raise self._error
        self.size += len(chunk)
        self.sha256.update(chunk)
        self._chunks.put(bytes(chunk))

    def close(self) -> None:
        self._chunks.put(_DONE)
        self._thread.join()
        self._out.flush()
        os.fsync(self._out.fileno())
        self._out.close()
        if self._error:
            raise self._error


@contextmanager
def open_decrypted(path, identity: str):
    """A readable binary stream of the plaintext of `path` (one pass)."""
    read_fd, write_fd = os.pipe()
    reader = os.fdopen(read_fd, "rb", buffering=1024 * 1024)
    errors: list[BaseException] = []

    def run():
        try:
            with open(path, "rb") as source, os.fdopen(write_fd, "wb") as sink:
                pyrage.decrypt_io(source, sink, [x25519.Identity.from_str(identity)])
        except BrokenPipeError:
            pass  # the reader stopped early (a sample): nothing more is wanted
        except BaseException as exc:  # noqa: BLE001 - reported to the reading thread
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield reader
    finally:
        reader.close()
        thread.join()
    if errors:
        raise errors[0]
