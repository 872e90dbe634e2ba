from django.core.management.base import BaseCommand, CommandError

from etanche.labs.models import Lab
from etanche.ops import labs
from etanche.ops.keys import rotate_master
from etanche.vault import master
from etanche.vault import services as vault
from etanche.vault.errors import VaultError
from etanche.vault.providers import provider_from_uri
from etanche.vault.providers.file import FileProvider


class Command(BaseCommand):
    help = (
        "Create, list or shred laboratories. `labs create SLUG --name NAME --finess NUMBER` "
        "checks the FINESS Luhn key and provisions the lab's keys; `--expected-patients N` "
        "(default 100,000) sizes its blind indexes once, for the lab's life. "
        "`labs shred LAB --confirm LAB` destroys a closed lab's keys: its sealed data "
        "becomes unrecoverable; with the "
        "default file master key, the master key is also replaced and the old one destroyed, "
        "so backups taken before the shred cannot be opened either. Journaled."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a lab and its keys")
        create.add_argument("slug")
        create.add_argument("--name", required=True)
        create.add_argument("--finess", required=True, help="9-digit FINESS number")
        create.add_argument(
            "--expected-patients", default=None, metavar="N",
            help="patients the lab expects to hold (1,000 to 100,000,000; default 100,000): "
            "fixes its blind-index sizes for good",
        )
        sub.add_parser("list", help="list labs")
        shred = sub.add_parser("shred", help="destroy a closed lab's keys (irreversible)")
        shred.add_argument("lab", help="the lab's slug")
        shred.add_argument("--confirm", required=True, help="the lab's slug again")

    def handle(self, *args, **options):
        try:
            getattr(self, f"_{options['action']}")(options)
        except (labs.LabError, VaultError) as exc:
            raise CommandError(str(exc)) from None

    def _create(self, options):
        lab = labs.create_lab(options["slug"], options["name"], options["finess"],
                                  expected_patients=options["expected_patients"])
        expected, bits = vault.index_sizes(lab)
        sizes = ", ".join(f"{name} {b}" for name, b in bits.items())
        self.stdout.write(f"lab {lab.slug} created (FINESS {lab.finess}), keys provisioned; "
                          f"blind indexes for {expected:,} patients: {sizes} bits")

    def _list(self, options):
        for lab in Lab.objects.order_by("slug"):
            self.stdout.write(f"{lab.slug}\t{lab.finess}\t{lab.name}")

    def _shred(self, options):
        lab = labs.shred_lab(options["lab"], confirm=options["confirm"])
        self.stdout.write(f"lab {lab.slug}: keys destroyed; its sealed data is unrecoverable")

        if isinstance(provider_from_uri(master.configured_uri()), FileProvider):
            self.stdout.write(rotate_master(destroy_old=True))
            self.stdout.write(
                "the previous master key is destroyed: backups taken before now cannot be "
                "restored; take a new backup now"
            )
        else:
            self.stdout.write(
                "backups taken before now still hold this lab's keys under the current master "
                "key: rotate it (ETANCHE_NEW_MASTER_KEY=... etanche keys rotate --master) and "
                "destroy the old key in the HSM or KMS"
            )
