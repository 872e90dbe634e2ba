from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from etanche.lib.datadir import ensure_data_dir, ensure_secret_key
from etanche.lib.env import env_secret
from etanche.vault import master
from etanche.vault.errors import VaultError


class Command(BaseCommand):
    help = (
        "Create the data directory, secret key, database schema and master key. Idempotent: an "
        "existing key or database is never overwritten; pending migrations are applied."
    )
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument(
            "--master-key", metavar="URI",
            help="create (or check) the master key here instead of ETANCHE_MASTER_KEY, e.g. "
            "file:///etc/etanche/master.key outside the data directory; then set "
            "ETANCHE_MASTER_KEY to it wherever etanche runs")

    def handle(self, *args, master_key=None, **options):
        if master_key:
            # This run only; the variable tells every later one (serve, worker, cron).
            settings.ETANCHE_MASTER_KEY = master_key
        data_dir, _ = ensure_data_dir(settings.DATA_DIR)
        self.stdout.write(f"data directory: {data_dir}")


        if env_secret("ETANCHE_SECRET_KEY"):
            self.stdout.write("secret key: from the environment (no file written)")
        else:
            path, created = ensure_secret_key(data_dir)
            self.stdout.write(f"secret key: {path} ({'created' if created else 'kept'})")

        call_command("migrate", interactive=False, verbosity=0)
        vendor = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
        self.stdout.write(f"database: {vendor}, schema up to date")
        self._master_key(asked=master_key)

    def _master_key(self, asked=None):
        # After migrate: whether a key may be created depends on what the database holds.


        try:
            provider, created = master.ensure(create=True)
        except VaultError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"master key: {provider.describe()} ({'created' if created else 'kept'})")
        if asked:
            self.stdout.write(f"set ETANCHE_MASTER_KEY={asked} in the environment of every "
                              "etanche command (serve, worker, cron)")
        path = getattr(provider, "path", None)
        if path is not None and Path(settings.DATA_DIR) in Path(path).resolve().parents:
            self._warn_beside_the_database(Path(path))

    def _warn_beside_the_database(self, path: Path):
        """The default puts the key beside the database: one copy of the directory opens all."""
        self.stderr.write(
            "WARNING: the master key is in the data directory, beside the database: a copy of "
            "this directory (a backup, a disk image) opens every sealed record. Keep it where "
            "those copies do not go (another disk, a mounted secret, an HSM: docs/security.md):\n"
            f"  mv {path} /etc/etanche/master.key   (a directory only etanche's user can read)\n"
            "  then set ETANCHE_MASTER_KEY=file:///etc/etanche/master.key for every etanche "
            "command;\n"
            "  or, on a new instance, create it there: "
            "etanche init --master-key file:///etc/etanche/master.key"
        )
