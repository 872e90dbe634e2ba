"""An uploaded leak held on disk only sealed under the lab's keys, chunk by chunk.

The DPO's upload is the leaked file itself: full of personal data. It is sealed as it
arrives (one `vault.seal` per chunk, each chunk bound to the upload's random name and its
position, so chunks cannot be swapped, dropped or replayed from another upload), written to
$ETANCHE_DATA_DIR/breach/, read back by unsealing one chunk at a time while the scan streams
it. A web upload's spool is handed to a BreachScanJob and reopened by the worker
(`SealedSpool.existing`), deleted when its scan ends or fails; any other spool is deleted
when the request ends. The clear file exists only in memory, one chunk at a time.
"""

import base64
import hashlib
import io
import re
import secrets
import time
from pathlib import Path

from django.conf import settings

from etanche.vault import services as vault

RECORD_TYPE = "breach.upload"
LENGTH = 4  # bytes of each sealed chunk's length prefix


class SpoolError(OSError):
    pass


def spool_dir() -> Path:
    path = Path(settings.DATA_DIR) / "breach"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


_NAME = re.compile(r"[0-9a-f]{32}")


class SealedSpool:
    def __init__(self, lab):
        self.lab = lab
        self.name = secrets.token_hex(16)
        self.path = spool_dir() / f"{self.name}.sealed"
        self._out = open(self.path, "xb")  # noqa: SIM115 - closed by finish() or delete()
        self.chunks = 0
        self.size = 0
        self._digest = hashlib.sha256()
        self.sha256 = ""

    @classmethod
    def existing(cls, lab, name: str) -> "SealedSpool":
        """A finished spool found again by its name (the worker's side), to read or delete."""
        if not _NAME.fullmatch(name):
            raise SpoolError("not the name of a sealed upload")
        spool = cls.__new__(cls)
        spool.lab, spool.name = lab, name
        spool.path = spool_dir() / f"{name}.sealed"
        spool._out = None
        spool.chunks = spool.size = 0
        spool.sha256 = ""
        return spool

    def _put(self, fields: dict) -> None:
        token = vault.seal(self.lab, RECORD_TYPE, f"{self.name}:{self.chunks}", fields)
        self._out.write(len(token).to_bytes(LENGTH, "big") + token)
        self.chunks += 1

    def write(self, data: bytes) -> None:
        if data:
            self._digest.update(data)
            self.size += len(data)
            self._put({"data": base64.b64encode(data).decode()})

    def finish(self) -> None:
        """The last chunk says how many came before it: a truncated spool does not open."""
        self._put({"end": self.chunks})
        self._out.close()
        self.sha256 = self._digest.hexdigest()

    def _chunks(self):
        with open(self.path, "rb") as handle:
            position = 0
            while head := handle.read(LENGTH):
                token = handle.read(int.from_bytes(head, "big"))
                try:
                    fields = vault.unseal(self.lab, RECORD_TYPE, f"{self.name}:{position}",
                                          token)
                except vault.TamperedData:
                    raise SpoolError("the sealed upload was altered") from None
                if "end" in fields:
                    if fields["end"] != position:
                        raise SpoolError("the sealed upload is damaged")
                    return
                position += 1
                yield base64.b64decode(fields["data"])
        raise SpoolError("the sealed upload is truncated")

    def open(self) -> io.BufferedReader:
        """A new binary stream of the clear file (read as it is unsealed)."""
        return io.BufferedReader(_ChunkStream(self._chunks()), buffer_size=1024 * 1024)

    def delete(self) -> None:
        if self._out is not None and not self._out.closed:
            self._out.close()
        self.path.unlink(missing_ok=True)


class _ChunkStream(io.RawIOBase):
    def __init__(self, chunks):
        self._chunks = chunks
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = memoryview(chunk)
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


STALE_SECONDS = 24 * 3600  # no scan runs this long: a spool this old lost its process


def purge_stale(now: float | None = None, keep=frozenset()) -> int:
    """Spools left behind by a process killed mid-upload or mid-scan (sealed, of no use):
    deleted by the worker's round; how many. `keep`: names of spools a scan still moving
    reads (breach/work.py decides which)."""
    now = time.time() if now is None else now
    removed = 0
    for path in spool_dir().glob("*.sealed"):
        if path.stem in keep:
            continue
        try:
            if now - path.stat().st_mtime > STALE_SECONDS:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue  # a scan finished meanwhile and removed it
    return removed
