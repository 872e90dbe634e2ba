"""`etanche audit`: what would leak if this server were copied now.

Reads what an attacker with a copy of the machine would read, and reports what it
finds without ever printing it (a finding names the place, the kind and what to do):

- plaintext identity or health data (a NIR with a valid key, phones, e-mails, names
  of the INSEE lists as "NOM Prénom", health terms of the lexicon: the recognisers
  of tabular/recognise.py, shared with the breach scan) in the database files
  (SQLite and its -wal/-journal, or a fresh pg_dump), every file of the data
  directory (backups and export files there: encrypted ones are only listed), the
  temporary directory, the logs, and this process's environment;
- weak configuration: loose file permissions, the master key in the directory of
  the database, DEBUG, no TLS settings, the secret key in the environment of other
  processes, export files kept long, keys not rotated for a long time.

Staff e-mails and names are in clear by design (accounts, STAFF_CLEAR) and are not
findings. A high finding makes the command exit non-zero.
"""

import json
import os
import re
import shutil
import stat
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils import timezone

from etanche.accounts.models import User
from etanche.lib import audit_report
from etanche.tabular import recognise
from etanche.vault.models import LabKeyset

HIGH, MEDIUM, LOW = "haute", "moyenne", "basse"
CHUNK = 8 * 1024 * 1024
OVERLAP = 256
MAX_FILE = 2 * 1024 * 1024 * 1024
AGE_HEADER = b"age-encryption.org/v1"
SQLITE_HEADER = b"SQLite format 3\x00"

NIR = re.compile(rb"(?<![0-9A-Za-z])[12][ .-]?[0-9]{2}[ .-]?[0-9]{2}[ .-]?(?:[0-9]{2}|2[AB])"
                 rb"[ .-]?[0-9]{3}[ .-]?[0-9]{3}[ .-]?[0-9]{2}(?![0-9])")
# One separator throughout, and no digit, dot or dash around: "…38.0561942026-12-01" (a
# timestamp's microseconds against the next date in a database page) is no phone.
PHONE = re.compile(rb"(?<![0-9+.-])(?:\+33 ?|0)[1-9](?P<sep>[ .-]?)[0-9]{2}"
                   rb"(?:(?P=sep)[0-9]{2}){3}(?![0-9:.-])")
EMAIL = re.compile(rb"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*"
                   rb"\.[A-Za-z]{2,24}")
FULL_NAME = re.compile(r"\b([A-ZÀ-Ý][A-ZÀ-Ý'-]{2,30}) ([A-ZÀ-Ý][a-zà-ÿ'-]{2,30})\b")
KINDS = {
    "nir": ("NIR en clair", HIGH),
    "phone": ("numéro de téléphone en clair", HIGH),
    "email": ("adresse électronique en clair", HIGH),
    "name": ("nom et prénom (listes INSEE) en clair", MEDIUM),
    "health": ("terme de santé en clair", MEDIUM),
}
ADVICE_DATA = ("Trouver le programme qui a écrit cette donnée en clair, supprimer le fichier "
               "(ou la ligne) et chiffrer par le coffre (vault) ; signaler au DPO.")


@dataclass
class Finding:
    severity: str
    kind: str
    where: str
    what: str
    advice: str


class Scanner:
    """Plaintext personal data in bytes, counted by kind; values never kept."""

    def __init__(self, staff: set[str], *, health: bool = True):
        self.staff = staff
        self.health = health

    def scan(self, blob: bytes) -> Counter:
        found: Counter = Counter()
        for match in NIR.finditer(blob):
            if recognise.as_nir(match.group().decode("ascii", "ignore")):
                found["nir"] += 1
        for match in PHONE.finditer(blob):
            if recognise.as_phone(match.group().decode("ascii", "ignore")):
                found["phone"] += 1
        for match in EMAIL.finditer(blob):
            text = match.group().decode("ascii", "ignore").lower()
            if text not in self.staff and not text.endswith((".invalid", "@localhost")) \
                    and recognise.as_email(text):
                found["email"] += 1
        text = blob.decode("utf-8", "ignore")
        for surname, first in FULL_NAME.findall(text):
            if (f"{surname} {first}".lower() not in self.staff
                    and recognise.as_surname(surname) and recognise.as_first_name(first)):
                found["name"] += 1
        if self.health:
            for start in range(0, len(text), 4000):
                found["health"] += len(recognise.health_groups(text[start:start + 4000]))
        return +found


def _staff() -> set[str]:
    known = set()
    for email, first, last in User.objects.values_list("email", "first_name", "last_name"):
        if email:
            known.add(email.lower())
        if first and last:
            known |= {f"{last} {first}".lower(), f"{first} {last}".lower()}
    return known


def _chunks(source):
    tail = b""
    while chunk := source.read(CHUNK):
        yield tail + chunk
        tail = chunk[-OVERLAP:]


def _read_chunks(path: Path):
    with path.open("rb") as source:
        yield from _chunks(source)


def _sqlite_chunks(path: Path):
    """A SQLite file read by a child process, never opened by this one. SQLite's locks are
    POSIX locks, owned by the process: closing any descriptor of the database or its WAL
    here would release those this process's connection holds (sqlite.org/howtocorrupt.html,
    2.2), and the server, believing itself the last connection, could then checkpoint and
    delete the WAL under it."""
    with subprocess.Popen(["cat", "--", str(path)], stdout=subprocess.PIPE) as child:  # noqa: S603, S607
        yield from _chunks(child.stdout)
    if child.returncode != 0:
        raise RuntimeError(f"could not read {path.name}")


def _data_findings(scanner: Scanner, where: str, chunks) -> list[Finding]:
    total: Counter = Counter()
    for chunk in chunks:
        total += scanner.scan(chunk)
    return [Finding(KINDS[kind][1], kind, where, f"{KINDS[kind][0]} ({count} occurrence(s))",
                    ADVICE_DATA) for kind, count in sorted(total.items())]


def _database_files() -> list[Path]:
    if connection.vendor != "sqlite":
        return []
    name = Path(str(connection.settings_dict["NAME"]))
    return [p for p in (name, Path(f"{name}-wal"), Path(f"{name}-journal")) if p.exists()]


def _sqlite_index_file() -> set[Path]:
    """The WAL's shared-memory index: page numbers and checksums, no row, and the file
    whose locks tell SQLite's processes apart (never opened here, see _sqlite_chunks)."""
    if connection.vendor != "sqlite":
        return set()
    shm = Path(f"{connection.settings_dict['NAME']}-shm")
    return {shm, shm.resolve()}


def _pg_dump() -> bytes:
    db = connection.settings_dict
    env = {**os.environ, "PGPASSWORD": str(db.get("PASSWORD") or "")}
    argv = [shutil.which("pg_dump") or "pg_dump", "--no-owner", "-h", str(db.get("HOST") or
            "localhost"), "-p", str(db.get("PORT") or 5432), "-U", str(db.get("USER") or ""),
            str(db["NAME"])]
    done = subprocess.run(argv, env=env, capture_output=True, timeout=600, check=False)  # noqa: S603
    if done.returncode != 0:
        raise RuntimeError("pg_dump failed")
    return done.stdout


def scan_database(scanner: Scanner) -> list[Finding]:
    # Catalogue labels and the lexicon's terms are in clear by design in the database.
    quiet = Scanner(scanner.staff, health=False)
    if connection.vendor == "postgresql":
        return _data_findings(quiet, "base PostgreSQL (pg_dump)", [_pg_dump()])
    return [f for path in _database_files()
            for f in _data_findings(quiet, f"base SQLite {path.name}", _sqlite_chunks(path))]


def _files_under(root: Path, *, skip: set[Path], depth: int = 6):
    if not root.is_dir():
        return
    base = len(root.parts)
    for current, dirs, files in os.walk(root):
        if len(Path(current).parts) - base >= depth:
            dirs[:] = []
        for name in files:
            path = Path(current) / name
            try:
                if path in skip or not path.is_file() or path.is_symlink():
                    continue
                if path.stat().st_uid != os.getuid() or path.stat().st_size > MAX_FILE:
                    continue
            except OSError:
                continue
            yield path


def scan_files(scanner: Scanner, root: Path, label: str, *, skip: set[Path]) -> list[Finding]:
    findings = []
    for path in _files_under(root, skip=skip):
        try:
            with path.open("rb") as source:
                head = source.read(64)
        except OSError:
            continue
        where = f"{label} : {path.relative_to(root)}"
        if head.startswith(AGE_HEADER):
            continue  # encrypted (exports, backups): nothing readable
        if head.startswith(SQLITE_HEADER):
            findings.append(Finding(HIGH, "plain_copy", where,
                                    "copie non chiffrée d'une base de données",
                                    "Supprimer la copie ; les sauvegardes se font par "
                                    "`etanche backup create`, chiffrées."))
        try:
            findings += _data_findings(scanner, where, _read_chunks(path))
        except OSError:
            continue
    return findings


def scan_environment(scanner: Scanner) -> list[Finding]:
    findings = []
    for name, value in sorted(os.environ.items()):
        found = scanner.scan(value.encode("utf-8", "ignore"))
        for kind in sorted(found):
            findings.append(Finding(KINDS[kind][1], kind, f"environnement : {name}",
                                    KINDS[kind][0], "Retirer cette variable de "
                                    "l'environnement du service."))
    return findings


def _ours() -> set[int]:
    """This process and its ancestors: the shell or service manager that started us."""
    pids, pid = set(), os.getpid()
    while pid > 1 and pid not in pids:
        pids.add(pid)
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            pid = int(fields[1])
        except (OSError, ValueError, IndexError):
            break
    return pids


def scan_other_processes() -> list[Finding]:
    secret = str(settings.SECRET_KEY).encode()
    if len(secret) < 16 or not Path("/proc").is_dir():
        return []
    findings, ours = [], _ours()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in ours:
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if secret in environ:
            findings.append(Finding(HIGH, "secret_in_env", f"processus {entry.name}",
                                    "la clé secrète de l'application est dans "
                                    "l'environnement d'un autre processus",
                                    "Lire la clé depuis le fichier secret_key du répertoire "
                                    "de données (0600), pas d'une variable d'environnement "
                                    "héritée par d'autres programmes."))
    return findings


def _mode_finding(path: Path, label: str, severity: str) -> list[Finding]:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return []
    if mode & 0o077:
        return [Finding(severity, "permissions", f"{label} : {path}",
                        f"droits trop larges ({oct(mode)})",
                        f"chmod {'700' if path.is_dir() else '600'} {path}")]
    return []


def _master_key_file() -> Path | None:
    uri = str(settings.ETANCHE_MASTER_KEY)
    return Path(uri.removeprefix("file://")) if uri.startswith("file://") else None


def check_configuration(*, export_days: int, key_days: int) -> list[Finding]:
    data = Path(settings.DATA_DIR)
    findings = _mode_finding(data, "répertoire de données", MEDIUM)
    for path in _database_files():
        findings += _mode_finding(path, "base de données", HIGH)
    for name in ("secret_key",):
        if (data / name).exists():
            findings += _mode_finding(data / name, "clé secrète", HIGH)
    key = _master_key_file()
    if key and key.exists():
        findings += _mode_finding(key, "clé maîtresse", HIGH)
        databases = _database_files()
        if databases and key.resolve().parent == databases[0].resolve().parent:
            findings.append(Finding(MEDIUM, "master_key_beside_db", f"clé maîtresse : {key}",
                                    "la clé maîtresse est dans le répertoire de la base : une "
                                    "copie de ce répertoire donne tout",
                                    "Placer la clé sur un autre support (HSM PKCS#11, KMS, ou "
                                    "un disque distinct), voir docs/deploy.md."))
    if settings.DEBUG:
        findings.append(Finding(HIGH, "debug", "ETANCHE_DEBUG", "mode DEBUG actif",
                                "ETANCHE_DEBUG=0 en production."))
    if not getattr(settings, "SECURE_SSL_REDIRECT", False):
        findings.append(Finding(MEDIUM, "tls", "ETANCHE_BEHIND_TLS",
                                "pas de redirection HTTPS ni de HSTS configurées",
                                "Servir derrière TLS (nginx, docs/deploy.md) et le déclarer."))
    if not settings.SESSION_COOKIE_SECURE:
        findings.append(Finding(HIGH, "tls", "ETANCHE_SECURE_COOKIES",
                                "cookies de session envoyés sans TLS",
                                "ETANCHE_SECURE_COOKIES=1."))
    if os.environ.get("ETANCHE_SECRET_KEY"):
        findings.append(Finding(MEDIUM, "secret_in_env", "environnement : ETANCHE_SECRET_KEY",
                                "clé secrète passée par l'environnement",
                                "Préférer le fichier secret_key (0600) créé par `etanche init`."))
    old = time.time() - export_days * 86400
    for path in _files_under(data / "exports", skip=set()):
        if path.stat().st_mtime < old:
            findings.append(Finding(MEDIUM, "old_export", f"exports : {path.name}",
                                    f"fichier d'export de plus de {export_days} jours",
                                    "`etanche export purge` (la purge planifiée tourne-t-elle ?)."))
    stale = timezone.now() - timezone.timedelta(days=key_days)
    last = {}
    for lab_id, created in LabKeyset.objects.values_list("lab_id", "created_at"):
        last[lab_id] = max(created, last.get(lab_id, created))
    for lab_id, created in sorted(last.items()):
        if created < stale:
            findings.append(Finding(MEDIUM, "key_age", f"laboratoire {lab_id}",
                                    f"clés non renouvelées depuis plus de {key_days} jours",
                                    "`etanche keys rotate` pour ce laboratoire."))
    return findings


def run(*, temp_dir: Path | None = None, logs: list[Path] = (), export_days: int = 30,
        key_days: int = 365) -> list[Finding]:
    scanner = Scanner(_staff())
    data = Path(settings.DATA_DIR)
    skip = {p.resolve() for p in _database_files()} | {p for p in _database_files()}
    skip |= _sqlite_index_file()
    skip.add(audit_report.path())
    findings = scan_database(scanner)
    findings += scan_files(scanner, data, "répertoire de données", skip=skip)
    temp = Path(temp_dir or tempfile.gettempdir())
    if temp.resolve() != data.resolve():
        findings += scan_files(scanner, temp, "répertoire temporaire", skip=skip)
    for log in logs:
        findings += (scan_files(scanner, log, "journaux", skip=skip) if log.is_dir()
                     else _data_findings(scanner, f"journaux : {log}", _read_chunks(log))
                     if log.is_file() else [])
    findings += scan_environment(scanner)
    findings += scan_other_processes()
    findings += check_configuration(export_days=export_days, key_days=key_days)
    order = {HIGH: 0, MEDIUM: 1, LOW: 2}
    return sorted(findings, key=lambda f: (order[f.severity], f.kind, f.where))


def save(findings: list[Finding]) -> Path:
    path = audit_report.path()
    path.parent.mkdir(mode=0o700, exist_ok=True)
    report = {"at": timezone.now().isoformat(timespec="seconds"),
              "high": sum(f.severity == HIGH for f in findings),
              "findings": [asdict(f) for f in findings]}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(report, out, ensure_ascii=False, indent=1)
    return path
