import json
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from etanche.journal import checkpoints, services
from etanche.journal.verify import verify as verify_journal
from etanche.labs.models import Lab


def _lab(slug):
    if slug is None:
        return None

    try:
        return Lab.objects.get(slug=slug)
    except Lab.DoesNotExist:
        raise CommandError(f"no lab with slug {slug!r}") from None


def _default_checkpoints() -> str | None:
    """The file `etanche serve` ships checkpoints to, if that is a file and it exists."""
    target = settings.ETANCHE_CHECKPOINT_TARGET or ""
    if target.startswith("file:") and Path(target[len("file:") :]).is_file():
        return target[len("file:") :]
    return None


class Command(BaseCommand):
    help = (
        "Verify, checkpoint or purge the tamper-evident access journal. `verify` names "
        "the first bad entry of each broken chain and exits 1."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="verify|checkpoint|purge")
        verify = sub.add_parser("verify", help="check every chain (or one lab's)")
        verify.add_argument("--lab", help="lab slug")
        verify.add_argument(
            "--checkpoints",
            dest="checkpoint_file",
            metavar="FILE",
            help="also check signed checkpoints shipped earlier (detects a database rollback); "
            "default: the ETANCHE_CHECKPOINT_TARGET file, when it exists",
        )
        checkpoint = sub.add_parser("checkpoint", help="sign the chain heads and ship them")
        checkpoint.add_argument("--lab", help="lab slug")
        checkpoint.add_argument(
            "--to",
            default=settings.ETANCHE_CHECKPOINT_TARGET or "-",
            metavar="TARGET",
            help="file:PATH (appended), syslog, syslog:HOST:PORT, or - for stdout "
            "(default: ETANCHE_CHECKPOINT_TARGET, a file beside the data directory)",
        )
        purge = sub.add_parser("purge", help="delete entries past the retention period")
        purge.add_argument(
            "--days",
            type=int,
            default=settings.ETANCHE_JOURNAL_RETENTION_DAYS,
            help=f"retention in days (default {settings.ETANCHE_JOURNAL_RETENTION_DAYS})",
        )

    def handle(self, *args, action, **options):
        return getattr(self, f"_{action}")(**options)

    def _verify(self, lab=None, checkpoint_file=None, **options):
        checkpoint_file = checkpoint_file or _default_checkpoints()
        reports = verify_journal(_lab(lab))
        failed = False
        for report in reports:
            if report.problem:
                failed = True
                self.stderr.write(f"FAIL {report.problem}")
            else:
                self.stdout.write(f"ok   journal {report.chain}: {report.entries} entries")
        if checkpoint_file:
            try:
                with open(checkpoint_file, encoding="utf-8") as handle:
                    problems = checkpoints.check_statements(handle)
            except OSError as exc:
                raise CommandError(f"cannot read {checkpoint_file}: {exc.strerror}") from None
            for problem in problems:
                failed = True
                self.stderr.write(f"FAIL {problem}")
            if not problems:
                self.stdout.write(f"ok   checkpoints of {checkpoint_file}")
        if not reports:
            self.stdout.write("no journal chain yet")
        if failed:
            sys.exit(1)

    def _checkpoint(self, lab=None, to="-", **options):
        statements = checkpoints.make_checkpoints(_lab(lab))
        if to == "-":

            for statement in statements:
                self.stdout.write(json.dumps(statement, sort_keys=True))
            return
        try:
            checkpoints.ship(statements, to)
        except (services.JournalError, OSError, ValueError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"{len(statements)} checkpoint(s) shipped to {to}")

    def _purge(self, days, **options):
        try:
            purged = services.purge_older_than(days)
        except services.JournalError as exc:
            raise CommandError(str(exc)) from None
        for name, count in purged.items():
            self.stdout.write(f"journal {name}: {count} entries older than {days} days purged")
        if not purged:
            self.stdout.write("nothing to purge")
