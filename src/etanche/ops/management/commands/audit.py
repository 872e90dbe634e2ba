from collections import Counter
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from etanche.journal.models import Action
from etanche.journal.services import record
from etanche.ops import audit


class Command(BaseCommand):
    help = ("Self-audit: what would leak if this server were copied now. Scans the database "
            "files (SQLite with its WAL, or a fresh pg_dump), the data directory and the "
            "backups and exports there, the temporary directory, the logs and the process "
            "environment for plaintext identity and health data, and checks the "
            "configuration (permissions, master key beside the database, DEBUG, TLS, the "
            "secret key in other processes' environment, old export files, key age). Prints "
            "each finding with its severity and what to do, never the value found; keeps the "
            "report for the audit page; exits 1 on any high finding.")

    def add_arguments(self, parser):
        parser.add_argument("--temp-dir", help="temporary directory to scan (the system's)")
        parser.add_argument("--log", action="append", default=[],
                            help="a log file or directory to scan (repeatable)")
        parser.add_argument("--export-days", type=int, default=30,
                            help="an export file older than this is a finding (30)")
        parser.add_argument("--key-days", type=int, default=365,
                            help="keys not rotated for this long are a finding (365)")

    def handle(self, *args, temp_dir, log, export_days, key_days, **options):
        findings = audit.run(temp_dir=Path(temp_dir) if temp_dir else None,
                             logs=[Path(p) for p in log], export_days=export_days,
                             key_days=key_days)
        audit.save(findings)
        by_severity = Counter(f.severity for f in findings)
        with transaction.atomic():
            record(lab=None, user=None, action=Action.AUDIT, object_type="installation",
                   detail={"findings": len(findings), "high": by_severity[audit.HIGH],
                           "medium": by_severity[audit.MEDIUM]})
        for f in findings:
            self.stdout.write(f"[{f.severity}] {f.kind} — {f.where} : {f.what}. "
                              f"À faire : {f.advice}")
        self.stdout.write(f"{len(findings)} constat(s) : {by_severity[audit.HIGH]} de gravité "
                          f"haute, {by_severity[audit.MEDIUM]} moyenne.")
        if by_severity[audit.HIGH]:
            raise CommandError(f"{by_severity[audit.HIGH]} constat(s) de gravité haute",
                               returncode=1)
