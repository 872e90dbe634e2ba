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

    def handle(self, *args, **options):
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
        self._master_key()

    def _master_key(self):
        # After migrate: whether a key may be created depends on what the database holds.


        try:
            provider, created = master.ensure(create=True)
        except VaultError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"master key: {provider.describe()} ({'created' if created else 'kept'})")
