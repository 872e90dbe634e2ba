"""The layout inside a backup's age encryption: named members, streamed, then a manifest.

    "ETANCHE-BACKUP/1\\n"
    member*:   u32 header length | header JSON {"name": ...} | (u32 size | bytes)* | u32 0
    end:       u32 0

Sizes are big-endian. A member's length need not be known in advance (pg_dump
writes as it goes), which is why this is not a tar file. The last member is
`manifest.json`: time, schema, keys, and each earlier member's size and
SHA-256, so a reader checks every byte it was given against it.
"""

import hashlib
import json
import struct
from collections.abc import Callable, Iterable, Iterator

MAGIC = b"ETANCHE-BACKUP/1\n"
MANIFEST = "manifest.json"
CHUNK = 1 << 20
_U32 = struct.Struct(">I")


class BackupFormatError(Exception):
    """The decrypted stream is not a well-formed backup (one line, no content)."""


def frames(members: Iterable[tuple[str, Iterable[bytes]]],
           manifest: Callable[[list[dict]], dict]) -> Iterator[bytes]:
    """The plaintext stream: each (name, chunks) member, then manifest(summaries)."""
    yield MAGIC
    summaries = []
    for name, chunks in members:
        header = json.dumps({"name": name}).encode()
        yield _U32.pack(len(header)) + header
        digest, size = hashlib.sha256(), 0
        for chunk in chunks:
            for start in range(0, len(chunk), CHUNK):
                piece = chunk[start:start + CHUNK]
                digest.update(piece)
                size += len(piece)
                yield _U32.pack(len(piece)) + piece
        yield _U32.pack(0)
        summaries.append({"name": name, "size": size, "sha256": digest.hexdigest()})
    body = json.dumps(manifest(summaries), indent=1, sort_keys=True).encode()
    header = json.dumps({"name": MANIFEST}).encode()
    yield _U32.pack(len(header)) + header + _U32.pack(len(body)) + body + _U32.pack(0)
    yield _U32.pack(0)


class Reader:
    """A writable sink for decrypted bytes that parses members as they arrive.

    `on_member(name)` returns a callable taking each chunk of that member (or
    None to skip it). At the end, `manifest` holds the manifest and `seen` each
    member's actual size and SHA-256; `check()` compares them.
    """

    def __init__(self, on_member: Callable[[str], Callable[[bytes], None] | None]):
        self._on_member = on_member
        self._buffer = bytearray()
        self._state = "magic"
        self._need = len(MAGIC)
        self._sink = None
        self._name = None
        self._digest = None
        self._size = 0
        self._manifest_bytes = bytearray()
        self.seen: dict[str, dict] = {}
        self.manifest: dict | None = None
        self.finished = False

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._buffer += data
        while len(self._buffer) >= self._need and not self.finished:
            piece = bytes(self._buffer[:self._need])
            del self._buffer[:self._need]
            self._step(piece)
        if self.finished and self._buffer:
            raise BackupFormatError("bytes after the end of the backup")
        return len(data)

    def _step(self, piece: bytes) -> None:
        state = self._state
        if state == "magic":
            if piece != MAGIC:
                raise BackupFormatError("not an Étanche backup (wrong magic)")
            self._state, self._need = "header-size", 4
        elif state == "header-size":
            size = _U32.unpack(piece)[0]
            if size == 0:
                self.finished = True
                return
            self._state, self._need = "header", size
        elif state == "header":
            try:
                self._name = json.loads(piece)["name"]
            except (ValueError, KeyError, TypeError):
                raise BackupFormatError("damaged member header") from None
            self._sink = None if self._name == MANIFEST else self._on_member(self._name)
            self._digest, self._size = hashlib.sha256(), 0
            self._state, self._need = "chunk-size", 4
        elif state == "chunk-size":
            size = _U32.unpack(piece)[0]
            if size == 0:
                self._end_member()
                self._state, self._need = "header-size", 4
            else:
                self._state, self._need = "chunk", size
        else:
            self._digest.update(piece)
            self._size += len(piece)
            if self._name == MANIFEST:
                self._manifest_bytes += piece
            elif self._sink is not None:
                self._sink(piece)
            self._state, self._need = "chunk-size", 4

    def _end_member(self) -> None:
        if self._name == MANIFEST:
            try:
                self.manifest = json.loads(bytes(self._manifest_bytes))
            except ValueError:
                raise BackupFormatError("damaged manifest") from None
        else:
            self.seen[self._name] = {"size": self._size, "sha256": self._digest.hexdigest()}

    def check(self) -> list[str]:
        """Problems found (empty when every member matches the manifest)."""
        if not self.finished:
            return ["the backup is truncated (no end marker)"]
        if self.manifest is None:
            return ["the backup has no manifest"]
        problems = []
        listed = {m["name"]: m for m in self.manifest.get("members", [])}
        for name, meta in listed.items():
            got = self.seen.get(name)
            if got is None:
                problems.append(f"member {name} is missing")
            elif (got["size"], got["sha256"]) != (meta["size"], meta["sha256"]):
                problems.append(f"member {name} does not match its checksum")
        problems += [f"member {name} is not in the manifest" for name in self.seen
                     if name not in listed]
        return problems
