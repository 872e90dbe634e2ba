"""From a path or a binary stream to the bytes of one table, decompressed, under guard.

`open_source(source, limits)` peels gzip and zip layers (two at most), checks
their declared and real sizes against `Limits` (a zip bomb is refused by its
ratio before a byte is inflated, and again while inflating, since declared
sizes can lie) and returns `Opened(stream, compression, kind)` where `kind` is
"zip" for a workbook (XLSX is itself a zip, read by openpyxl from a seekable
stream) and "stream" for everything else. Nothing is written to disk: a member
that must be seekable and is not (a workbook inside an archive, an archive on
a pipe) is held in memory, up to `Limits.max_in_memory`.
"""

import contextlib
import gzip
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from etanche.tabular import errors

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"
MIB = 1024 * 1024
BUFFER = MIB  # one peek sees this much: enough to tell the encoding and the dialect


@dataclass(frozen=True)
class Limits:
    """Bounds on what a file may cost. Decompressed bytes are capped in total and
    by their ratio to the compressed bytes read (past the first `ratio_grace`
    bytes: small files compress well without being bombs)."""

    max_bytes: int = 20 * 1024 * MIB
    max_ratio: int = 200
    ratio_grace: int = 16 * MIB
    max_line: int = 1_000_000
    max_json_document: int = 256 * MIB
    max_in_memory: int = 256 * MIB


class _Counter(io.RawIOBase):
    """Counts the compressed bytes a decompressor pulls from its input."""

    def __init__(self, inner):
        self.inner = inner
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.inner.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.count += n
        return n


class _Guard(io.RawIOBase):
    """Counts the decompressed bytes and stops past the limits."""

    def __init__(self, inner, limits: Limits, compressed=None):
        self.inner = inner
        self.limits = limits
        self.compressed = compressed  # a callable giving the compressed bytes read so far
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.inner.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.count += n
        if self.count > self.limits.max_bytes:
            raise errors.too_big(self.limits.max_bytes)
        if self.compressed and self.count > self.limits.ratio_grace:
            if self.count > self.limits.max_ratio * max(self.compressed(), 1):
                raise errors.bomb()
        return n

    def close(self) -> None:
        try:
            self.inner.close()
        finally:
            super().close()


@dataclass
class Opened:
    stream: io.BufferedIOBase
    compression: str | None  # "gzip", "zip", "zip+gzip"... outermost first
    kind: str  # "stream" or "zip" (a workbook, seekable)
    closers: list

    def close(self) -> None:
        for closer in reversed(self.closers):
            with contextlib.suppress(Exception):  # closing after an error must not hide it
                closer.close()


def _head(stream: io.BufferedIOBase, n: int = 4) -> bytes:
    return stream.peek(n)[:n]


def _in_memory(stream, limits: Limits) -> io.BytesIO:
    data = stream.read(limits.max_in_memory + 1)
    if len(data) > limits.max_in_memory:
        raise errors.too_big(limits.max_in_memory)
    return io.BytesIO(data)


def _seekable(stream, limits: Limits, closers: list):
    if getattr(stream, "seekable", lambda: False)():
        return stream
    memory = _in_memory(stream, limits)
    closers.append(memory)
    return memory


def _check_zip(archive: zipfile.ZipFile, limits: Limits) -> None:
    total = 0
    for info in archive.infolist():
        total += info.file_size
        if info.file_size > limits.ratio_grace and (
                info.file_size > limits.max_ratio * max(info.compress_size, 1)):
            raise errors.bomb()
    if total > limits.max_bytes:
        raise errors.too_big(limits.max_bytes)


def _is_workbook(archive: zipfile.ZipFile) -> bool:
    names = set(archive.namelist())
    return "[Content_Types].xml" in names and any(n.startswith("xl/") for n in names)


def _only_member(archive: zipfile.ZipFile) -> zipfile.ZipInfo:
    members = [
        info for info in archive.infolist()
        if not info.is_dir() and not info.filename.startswith("__MACOSX/")
        and not Path(info.filename).name.startswith(".")
    ]
    if not members:
        raise errors.empty()
    if len(members) > 1:
        raise errors.TabularError(
            "many_members",
            "L'archive contient plusieurs fichiers : envoyez-en un seul par import.",
            "The archive holds several files: send one per import.",
        )
    return members[0]


def _buffered(raw) -> io.BufferedReader:
    return io.BufferedReader(raw, buffer_size=BUFFER)


def open_source(source, limits: Limits | None = None) -> Opened:
    """Open `source` (a path, or a binary file object the caller closes) and peel its
    compression layers. The caller closes the result (`Opened.close()`)."""
    limits = limits or Limits()
    closers: list = []
    try:
        if isinstance(source, (str, Path)):
            raw = open(source, "rb", buffering=BUFFER)  # noqa: SIM115 - closed by Opened.close()
            closers.append(raw)
        else:
            raw = source
        stream = raw if hasattr(raw, "peek") else _buffered(_Guard(raw, limits))
        layers: list[str] = []
        for _ in range(3):
            magic = _head(stream)
            if magic.startswith(GZIP_MAGIC) and len(layers) < 2:
                counter = _Counter(stream)
                inflated = gzip.GzipFile(fileobj=_buffered(counter), mode="rb")
                guard = _Guard(inflated, limits, lambda c=counter: c.count)
                stream = _buffered(guard)
                closers.append(stream)
                layers.append("gzip")
                continue
            if magic.startswith(ZIP_MAGIC):
                seekable = _seekable(stream, limits, closers)
                try:
                    archive = zipfile.ZipFile(seekable)
                except zipfile.BadZipFile as exc:
                    raise errors.binary() from exc
                closers.append(archive)
                _check_zip(archive, limits)
                if _is_workbook(archive):
                    seekable.seek(0)
                    return Opened(seekable, "+".join(layers) or None, "zip", closers)
                if len(layers) >= 2:
                    raise errors.bomb()
                info = _only_member(archive)
                member = archive.open(info)
                guard = _Guard(member, limits, lambda i=info: i.compress_size)
                stream = _buffered(guard)
                closers.append(stream)
                layers.append("zip")
                continue
            break
        return Opened(stream, "+".join(layers) or None, "stream", closers)
    except errors.TabularError:
        Opened(None, None, "", closers).close()
        raise
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        Opened(None, None, "", closers).close()
        raise  # the caller names the path: a reader's message never does
    except (OSError, EOFError, zipfile.BadZipFile, zipfile.LargeZipFile) as exc:
        Opened(None, None, "", closers).close()
        raise errors.TabularError(
            "unreadable", "Le fichier compressé est illisible ou tronqué.",
            "The compressed file is unreadable or truncated.") from exc
