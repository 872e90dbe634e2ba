"""The default provider: a Tink keyset (AES-256-GCM) in a file only its owner reads."""

import os
import stat
from pathlib import Path

import tink
from tink import aead, secret_key_access

from etanche.vault.errors import (
    MasterKeyCorrupt,
    MasterKeyError,
    MasterKeyInsecure,
    MasterKeyMissing,
)
from etanche.vault.providers.base import KekProvider

aead.register()


class FileProvider(KekProvider):
    can_create = True

    def __init__(self, uri: str):
        super().__init__(uri)
        raw = uri[len("file://"):]
        if not raw:
            raise MasterKeyError("ETANCHE_MASTER_KEY=file:// names no file; use file:///path/master.key")
        self.path = Path(raw)
        self._aead = None
        self._key_id = None

    def describe(self) -> str:
        return f"file://{self.path}"

    def exists(self) -> bool:
        return self.path.exists()

    def _read(self):
        try:
            mode = self.path.stat().st_mode
        except FileNotFoundError:
            raise MasterKeyMissing(
                f"master key file {self.path} is missing; restore it from your key backup "
                "(or run `etanche init` on a new, empty installation)"
            ) from None
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise MasterKeyInsecure(
                f"master key file {self.path} is readable by group or others; "
                f"run: chmod 600 {self.path}"
            )
        try:
            text = self.path.read_text(encoding="utf-8")
            handle = tink.json_proto_keyset_format.parse(text, secret_key_access.TOKEN)
            primitive = handle.primitive(aead.Aead)
        except (OSError, UnicodeDecodeError, tink.TinkError, ValueError, TypeError):
            raise MasterKeyCorrupt(
                f"master key file {self.path} is not a valid key (corrupt or truncated); "
                "restore it from your key backup"
            ) from None
        return primitive, handle.keyset_info().primary_key_id

    def key_id(self) -> str:
        if self._key_id is None:
            self._aead, self._key_id = self._read()
        return f"file:{self._key_id}"

    def aead(self):
        if self._aead is None:
            self._aead, self._key_id = self._read()
        return self._aead

    def create(self) -> None:
        """Write a new key; refuses to replace an existing file (O_EXCL)."""
        handle = tink.new_keyset_handle(aead.aead_key_templates.AES256_GCM)
        text = tink.json_proto_keyset_format.serialize(handle, secret_key_access.TOKEN)
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())

    def destroy(self) -> None:
        # Overwrite before unlinking: on most filesystems this removes the key
        # bytes from the live blocks; copies in backups are the operator's to purge.
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return
        with open(self.path, "r+b") as out:
            out.write(os.urandom(size))
            out.flush()
            os.fsync(out.fileno())
        self.path.unlink()
