"""age encryption (X25519 recipients, STREAM payload) of data produced on the fly.

pyrage's `encrypt_io(reader, writer, recipients)` runs age's STREAM encryption
(64 KiB chunks) pulling plaintext from `reader` and pushing ciphertext to
`writer`. Our reader is a generator adapter: each `readinto` call builds the
next batch on demand, so at any moment the process holds one batch of
plaintext and one age chunk, whatever the size of the output, and the writer
only ever sees ciphertext. The output is one ordinary age file that
`age -d -i key.txt` decrypts. Exports use it (exports/crypto.py keeps the files).
"""

import io
from collections.abc import Iterator

import pyrage
from pyrage import x25519

__all__ = ["BadRecipient", "encrypt_stream", "parse_recipient"]


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


def encrypt_stream(chunks: Iterator[bytes], recipient: str, out: io.RawIOBase) -> None:
    """Encrypt `chunks` to `recipient` (age1...) into the writable `out`, as they come.

    An exception raised by the producer of `chunks` comes out as itself, not
    as pyrage's flattened EncryptError.
    """
    reader = _ChunkReader(chunks)
    try:
        pyrage.encrypt_io(reader, out, [x25519.Recipient.from_str(recipient)])
    except BaseException as exc:
        if reader.error is not None and reader.error is not exc:
            raise reader.error from None
        raise


# Escrow shares and backups (issue 22): several recipients, identities from files,
# and decryption streamed into a writer as it is produced.


def parse_identity_file(text: str) -> list:
    """The X25519 identities of an age identity file (`age-keygen` output; # comments)."""
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line.upper().startswith("AGE-SECRET-KEY-"):
            try:
                found.append(x25519.Identity.from_str(line))
            except pyrage.IdentityError:
                raise BadRecipient("an age identity in the file is not valid") from None
    if not found:
        raise BadRecipient("the file holds no age identity (AGE-SECRET-KEY-1...)")
    return found


def encrypt_to(data: bytes, recipients: list[str]) -> bytes:
    return pyrage.encrypt(data, [x25519.Recipient.from_str(r) for r in recipients])


def decrypt_with(data: bytes, identities: list) -> bytes:
    """Plaintext, or DecryptError when none of `identities` opens `data`."""
    return pyrage.decrypt(data, identities)


def is_age_file(head: bytes) -> bool:
    return head.startswith(b"age-encryption.org/v1")


def encrypt_stream_to(chunks: Iterator[bytes], recipients: list[str], out) -> None:
    """`encrypt_stream` for several recipients (any of them opens the file)."""
    reader = _ChunkReader(chunks)
    try:
        pyrage.encrypt_io(reader, out, [x25519.Recipient.from_str(r) for r in recipients])
    except BaseException as exc:
        if reader.error is not None and reader.error is not exc:
            raise reader.error from None
        raise


def decrypt_stream(source, identities: list, out) -> None:
    """Decrypt the readable `source` into the writable `out`, chunk by chunk."""
    pyrage.decrypt_io(source, out, identities)


DecryptError = pyrage.DecryptError
