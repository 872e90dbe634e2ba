"""Backups: a consistent snapshot of the database and data directory, age-encrypted as
it is produced; verification; restore into an empty installation (docs/deploy.md).

Nothing is ever written in clear: the SQLite snapshot is taken with the
online backup API into memory and streamed from there, pg_dump's output is
piped, and both go straight into age encryption to ETANCHE_BACKUP_RECIPIENTS.
The master key is never in a backup: a stolen backup opens no sealed field.
"""

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.db import connection, connections, transaction
from django.db.migrations.recorder import MigrationRecorder

from etanche.journal.models import Action
from etanche.journal.services import record
from etanche.lib.datadir import SECRET_KEY_FILE, secret_key_path
from etanche.ops import backupfile
from etanche.vault import age
from etanche.vault.models import LabKeyset, MasterKeyRecord

FORMAT = "etanche-backup/1"
SQLITE_MEMBER = "database.sqlite3"
PGDUMP_MEMBER = "database.pgdump"
EXPORTS = "exports"
READ_SIZE = 1 << 20


class BackupError(Exception):
    """A backup, verification or restore refused or failed; one line, no personal data."""


# --- what goes in ------------------------------------------------------------------------


def _db() -> dict:
    return settings.DATABASES["default"]


def _vendor() -> str:
    return connection.vendor


def _pg_args_env() -> tuple[list[str], dict]:
    db = _db()
    args = ["--dbname", db["NAME"]]
    for flag, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
        if db.get(key):
            args += [flag, str(db[key])]
    env = dict(os.environ)
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    return args, env


def _sqlite_snapshot():
    # The online backup API copies a consistent state while writers carry on (WAL);
    # into memory, so the copy is never a clear file on disk.
    source = sqlite3.connect(_db()["NAME"], timeout=30)
    memory = sqlite3.connect(":memory:")
    try:
        source.backup(memory)
        data = bytearray(memory.serialize())
    finally:
        source.close()
        memory.close()
    # Header bytes 18-19 say "WAL" (2) as in the source; a WAL file cannot be opened from
    # memory (verify) and the restored file is put back in WAL mode by its first connection.
    data[18:20] = b"\x01\x01"
    view = memoryview(data)
    for start in range(0, len(view), READ_SIZE):
        yield bytes(view[start:start + READ_SIZE])


def _program(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} not found: install PostgreSQL's client programs "
                          "(Debian: apt-get install postgresql-client), the server's version")
    return found


def _pg_dump():
    args, env = _pg_args_env()
    process = subprocess.Popen(  # noqa: S603  fixed program, arguments from settings
        [_program("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    while chunk := process.stdout.read(READ_SIZE):
        yield chunk
    error = process.stderr.read().decode(errors="replace").strip().splitlines()
    if process.wait() != 0:
        raise BackupError(f"pg_dump failed: {error[-1] if error else 'no message'}")


def _file(path: Path):
    with open(path, "rb") as handle:
        while chunk := handle.read(READ_SIZE):
            yield chunk


def _data_dir_files() -> list[tuple[str, Path]]:
    """What the data directory needs besides the database: never the master key."""
    base = Path(settings.DATA_DIR)
    found = []
    if secret_key_path(base).exists():
        found.append((SECRET_KEY_FILE, secret_key_path(base)))
    exports = base / EXPORTS
    if exports.is_dir():
        found += [(f"{EXPORTS}/{p.name}", p) for p in sorted(exports.iterdir()) if p.is_file()]
    key = _master_key_path()
    return [(name, path) for name, path in found if path.resolve() != key]


def _master_key_path() -> Path | None:
    uri = settings.ETANCHE_MASTER_KEY
    return Path(uri[len("file://"):]).resolve() if uri.startswith("file://") else None


def _members():
    if _vendor() == "sqlite":
        yield SQLITE_MEMBER, _sqlite_snapshot()
    elif _vendor() == "postgresql":
        yield PGDUMP_MEMBER, _pg_dump()
    else:
        raise BackupError(f"no backup method for a {_vendor()} database")
    for name, path in _data_dir_files():
        yield name, _file(path)


def schema_state() -> dict:
    applied = sorted(f"{app}.{name}" for app, name in MigrationRecorder(connection)
                     .applied_migrations())
    return {"migrations": len(applied),
            "digest": hashlib.sha256("\n".join(applied).encode()).hexdigest(),
            "applied": applied}


def key_state() -> dict:
    current = MasterKeyRecord.objects.filter(current=True).values_list("key_id", flat=True)
    return {"master_key_id": current.first(),
            "lab_keysets": [
                {"lab_id": k["lab_id"], "kind": k["kind"], "version": k["version"],
                 "state": k["state"], "kek_id": k["kek_id"]}
                for k in LabKeyset.objects.order_by("lab_id", "kind", "version")
                .values("lab_id", "kind", "version", "state", "kek_id")]}


# --- create ------------------------------------------------------------------------------


class _HashingWriter:
    def __init__(self, handle):
        self.handle = handle
        self.digest = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.digest.update(data)
        self.size += len(data)
        return self.handle.write(data)


def recipients() -> list[str]:
    found = [r for r in settings.ETANCHE_BACKUP_RECIPIENTS if r.strip()]
    if not found:
        raise BackupError("ETANCHE_BACKUP_RECIPIENTS is empty: set it to the age public key(s) "
                          "backups are encrypted to (comma-separated)")
    try:
        return [age.parse_recipient(r) for r in found]
    except age.BadRecipient:
        raise BackupError("ETANCHE_BACKUP_RECIPIENTS holds a value that is not an age public "
                          "key (age1...)") from None


def create(out_dir: Path) -> Path:
    """Write one encrypted backup file into `out_dir` and its .sha256; returns its path."""
    to = recipients()
    out_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    created = datetime.now(UTC)
    # Read before the snapshot: a migration or key version added during it shows as a
    # difference at restore, never as a key version the manifest does not list.
    schema, keys = schema_state(), key_state()

    def manifest(members):
        return {"format": FORMAT, "created": created.isoformat(timespec="seconds"),
                "vendor": _vendor(), "schema": schema, "keys": keys, "members": members,
                "master_key_included": False}

    path = out_dir / f"etanche-backup-{created:%Y%m%dT%H%M%S%fZ}.age"
    partial = path.with_name(path.name + ".part")
    with open(partial, "xb") as handle:
        writer = _HashingWriter(handle)
        try:
            age.encrypt_stream_to(backupfile.frames(_members(), manifest), to, writer)
            handle.flush()
            os.fsync(handle.fileno())
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    partial.rename(path)
    checksum = writer.digest.hexdigest()
    path.with_name(path.name + ".sha256").write_text(f"{checksum}  {path.name}\n",
                                                     encoding="utf-8")
    with transaction.atomic():
        record(lab=None, user=None, action=Action.BACKUP, object_type="backup",
               object_id=path.name, detail={"size": writer.size, "sha256": checksum,
                                            "recipients": len(to)})
    return path


# --- verify ------------------------------------------------------------------------------


def _outer_checks(path: Path, notes: list[str]) -> list[str]:
    """What can be checked without a key: the age header and the .sha256 beside the file."""
    problems = []
    with open(path, "rb") as handle:
        head = handle.read(4096)
    if not age.is_age_file(head):
        return ["not an age-encrypted file"]
    stanzas = head.split(b"\n---", 1)[0].count(b"\n-> X25519 ")
    if stanzas == 0:
        problems.append("the age header lists no X25519 recipient")
    sidecar = path.with_name(path.name + ".sha256")
    if sidecar.exists():
        expected = sidecar.read_text(encoding="utf-8").split()[0]
        digest = hashlib.sha256()
        for chunk in _file(path):
            digest.update(chunk)
        if digest.hexdigest() != expected:
            problems.append("the file does not match its .sha256 (damaged or altered)")
    else:
        notes.append(f"no {sidecar.name} beside the file: the ciphertext's checksum is unchecked")
    return problems


def _decrypt_into(path: Path, identities: list, reader: backupfile.Reader) -> list[str]:
    try:
        with open(path, "rb") as source:
            age.decrypt_stream(source, identities, reader)
    except age.DecryptError:
        return ["none of the given identities opens this backup (or it is damaged)"]
    except OSError:
        # pyrage reports a chunk failing authentication as an I/O error of the stream.
        return ["the backup is damaged: a part of it fails authentication"]
    except backupfile.BackupFormatError as exc:
        return [str(exc)]
    return reader.check()


def verify(path: Path, identities: list, notes: list[str] | None = None
           ) -> tuple[list[str], dict | None]:
    """(problems, manifest). Without identities, the outer checks only (noted in `notes`)."""
    notes = [] if notes is None else notes
    problems = _outer_checks(path, notes)
    if not identities or problems[:1] == ["not an age-encrypted file"]:
        if not identities:
            notes.append("no --identity: the content (members, checksums, manifest) is unchecked")
        return problems, None
    sqlite_chunks: list[bytes] = []

    def on_member(name):
        if name == SQLITE_MEMBER:
            return sqlite_chunks.append
        return None

    reader = backupfile.Reader(on_member)
    problems += _decrypt_into(path, identities, reader)
    if reader.manifest and not problems:
        if reader.manifest.get("vendor") == "sqlite":
            problems += _sqlite_integrity(b"".join(sqlite_chunks), reader.manifest)
    return problems, reader.manifest


def _sqlite_integrity(data: bytes, manifest: dict) -> list[str]:
    memory = sqlite3.connect(":memory:")
    try:
        memory.deserialize(data)
        result = memory.execute("PRAGMA integrity_check").fetchone()[0]
        rows = memory.execute("SELECT app, name FROM django_migrations").fetchall()
    except sqlite3.DatabaseError:
        return ["the database in the backup is not a valid SQLite database"]
    finally:
        memory.close()
    problems = [] if result == "ok" else ["SQLite integrity check failed"]
    if len(rows) != manifest["schema"]["migrations"]:
        problems.append("the database's migrations differ from the manifest")
    return problems


# --- restore -----------------------------------------------------------------------------


def _refuse_unless_empty() -> None:
    if connection.introspection.table_names():
        raise BackupError("the database is not empty: a backup restores only into an empty "
                          "installation (a new database)")
    base = Path(settings.DATA_DIR)
    if secret_key_path(base).exists():
        raise BackupError(f"{secret_key_path(base)} exists: restore into a new data directory")
    exports = base / EXPORTS
    if exports.is_dir() and any(exports.iterdir()):
        raise BackupError(f"{exports} is not empty: restore into a new data directory")


def _write_new(path: Path):
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    handle = open(path, "xb")  # noqa: SIM115  closed by the caller at the member's end
    return handle


def restore(path: Path, identities: list) -> dict:
    """Restore `path` into this empty installation; returns the manifest.

    Two passes: the whole file is verified first, so a damaged backup writes nothing.
    """
    _refuse_unless_empty()
    if not identities:
        raise BackupError("restore needs --identity: an age identity the backup is encrypted to")
    problems, manifest = verify(path, identities)
    if problems:
        raise BackupError("; ".join(problems))
    if manifest["vendor"] != _vendor():
        raise BackupError(f"this backup is of a {manifest['vendor']} database; this "
                          f"installation uses {_vendor()}")
    base = Path(settings.DATA_DIR)
    open_files: dict[str, object] = {}
    restore_proc = None
    if _vendor() == "sqlite":
        connections.close_all()
        db_path = Path(_db()["NAME"])
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db_path}{suffix}").unlink(missing_ok=True)
        target_db = db_path.with_name(db_path.name + ".restoring")
    else:
        args, env = _pg_args_env()
        restore_proc = subprocess.Popen(  # noqa: S603  fixed program, arguments from settings
            [_program("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error", *args],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)

    def on_member(name):
        if name == SQLITE_MEMBER:
            target = target_db
        elif name == PGDUMP_MEMBER:
            return restore_proc.stdin.write
        elif name == SECRET_KEY_FILE or name.startswith(f"{EXPORTS}/"):
            target = base / name
            if "/" in name.removeprefix(f"{EXPORTS}/") or ".." in name:
                raise backupfile.BackupFormatError("a member name leaves the data directory")
        else:
            return None
        for handle in open_files.values():
            handle.close()
        open_files[name] = _write_new(target)
        return open_files[name].write

    reader = backupfile.Reader(on_member)
    try:
        problems = _decrypt_into(path, identities, reader)
    finally:
        for handle in open_files.values():
            handle.close()
    if restore_proc is not None:
        restore_proc.stdin.close()
        error = restore_proc.stderr.read().decode(errors="replace").strip().splitlines()
        if restore_proc.wait() != 0:
            problems.append(f"pg_restore failed: {error[-1] if error else 'no message'}")
    if problems:
        raise BackupError("; ".join(problems))
    if _vendor() == "sqlite":
        target_db.rename(db_path)
    return manifest


def check_installation_in_child(created: str) -> subprocess.CompletedProcess:
    """`etanche backup check` in a new process: this one holds a throwaway secret key and
    connections opened before the restore; the child reads the restored ones."""
    return subprocess.run(  # noqa: S603  our own entry point
        [sys.executable, "-m", "etanche.ops.cli", "backup", "check", "--restored-from", created],
        capture_output=True, text=True, check=False, timeout=3600)


def manifest_summary(manifest: dict) -> str:
    keys = manifest["keys"]
    return (f"backup of {manifest['created']} ({manifest['vendor']}, "
            f"{manifest['schema']['migrations']} migrations, "
            f"{len(keys['lab_keysets'])} lab keysets under {keys['master_key_id']}, "
            f"{len(manifest['members'])} members)")


def dumps(manifest: dict) -> str:
    return json.dumps({k: v for k, v in manifest.items() if k != "schema"}, sort_keys=True)
