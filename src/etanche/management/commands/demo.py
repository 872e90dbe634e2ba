from django.core.management.base import BaseCommand, CommandError

from etanche.labs import demo


class Command(BaseCommand):
    help = (
        "Create the demo lab, its staff accounts and N synthetic patients (never real "
        "people). Demo credentials are written to the data directory, mode 0600."
    )

    def add_arguments(self, parser):
        parser.add_argument("--patients", type=int, default=0, help="synthetic patients (0)")
        parser.add_argument("--seed", type=int, default=None, help="random seed, for repeatability")
        parser.add_argument(
            "--if-absent", action="store_true", help="do nothing if the demo lab exists"
        )

    def handle(self, *args, patients, seed, if_absent, **options):
        if patients < 0:
            raise CommandError("--patients must be zero or more")
        if if_absent and demo.demo_lab_exists():
            self.stdout.write("demo lab: already present")
        else:
            result = demo.create_demo(patients=patients, seed=seed)
            self.stdout.write(f"demo lab: {result.lab.slug} ({result.lab.name})")
        self.stdout.write(demo.login_instructions())
