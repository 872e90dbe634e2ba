from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from etanche.ops import backup, installcheck
from etanche.vault import age
from etanche.vault.errors import VaultError


def _identities(names: list[str]) -> list:
    found = []
    for name in names:
        try:
            found += age.parse_identity_file(Path(name).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            raise CommandError(f"cannot read identity file {name}") from None
        except age.BadRecipient as exc:
            raise CommandError(f"{name}: {exc}") from None
    return found


def _existing(name: str) -> Path:
    path = Path(name)
    if not path.is_file():
        raise CommandError(f"no backup file {name}")
    return path


class Command(BaseCommand):
    help = (
        "Back up, verify and restore an installation (docs/deploy.md). `backup create --to DIR`: "
        "a consistent snapshot taken while Étanche runs (SQLite online backup, pg_dump), with a "
        "manifest, age-encrypted as it is written to ETANCHE_BACKUP_RECIPIENTS; never the master "
        "key; prints the file's path on its last line. `backup verify FILE [--identity ID]`: "
        "without an identity, the age header and the .sha256 beside the file; with one, every "
        "member against the manifest's checksums too. `backup restore FILE --identity ID`: into "
        "an empty installation only, then `backup check`. `backup check`: the master key, every "
        "journal chain and a sample of sealed records."
    )
    # A restore starts from an empty database, which the checks would query.
    requires_system_checks = []

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="write an encrypted backup into DIR")
        create.add_argument("--to", required=True, metavar="DIR")
        verify = sub.add_parser("verify", help="check a backup without restoring it")
        verify.add_argument("file")
        verify.add_argument("--identity", action="append", default=[],
                            metavar="AGE_IDENTITY_FILE")
        restore = sub.add_parser("restore", help="restore into an empty installation")
        restore.add_argument("file")
        restore.add_argument("--identity", action="append", required=True,
                             metavar="AGE_IDENTITY_FILE")
        check = sub.add_parser("check", help="check the keys, journal and sealed records")
        check.add_argument("--restored-from", default=None, metavar="CREATED",
                           help="set by restore: journal the restore of this backup")

    def handle(self, *args, **options):
        try:
            getattr(self, f"_{options['action']}")(options)
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from None
        except VaultError as exc:
            raise CommandError(str(exc)) from None

    def _create(self, options):
        path = backup.create(Path(options["to"]))
        self.stdout.write(f"checksum: {path.name}.sha256")
        self.stdout.write(str(path))

    def _verify(self, options):
        notes: list[str] = []
        problems, manifest = backup.verify(_existing(options["file"]),
                                           _identities(options["identity"]), notes)
        if manifest:
            self.stdout.write(backup.manifest_summary(manifest))
        for note in notes:
            self.stdout.write(f"note: {note}")
        if problems:
            raise CommandError("backup damaged: " + "; ".join(problems))
        self.stdout.write("backup ok")

    def _restore(self, options):
        manifest = backup.restore(_existing(options["file"]), _identities(options["identity"]))
        self.stdout.write(f"restored {backup.manifest_summary(manifest)}")
        child = backup.check_installation_in_child(manifest["created"])
        self.stdout.write(child.stdout.rstrip())
        if child.returncode != 0:
            raise CommandError(child.stderr.strip().splitlines()[-1] if child.stderr.strip()
                               else "the restored installation does not check")

    def _check(self, options):
        result = installcheck.check()
        for line in result.lines:
            self.stdout.write(line)
        if options["restored_from"]:
            moved = installcheck.journal_restore(options["restored_from"], result)
            if moved:
                self.stdout.write(f"journal: {moved} key recovery entr(ies) recorded")
        if result.problems:
            raise CommandError(f"{len(result.problems)} problem(s): " + "; ".join(
                result.problems[:5]))
        self.stdout.write("installation ok")
