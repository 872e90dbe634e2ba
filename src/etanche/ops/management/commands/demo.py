import time

from django.core.management.base import BaseCommand, CommandError

from etanche.ops import demo
from etanche.ops.labs import LabError


class Command(BaseCommand):
    help = (
        "Create the demo lab, its staff accounts and N synthetic patients (never real "
        "people). Demo credentials are written to the data directory, mode 0600. "
        "Patients are deterministic for a seed (default 0) and inserted in committed "
        "batches of 5,000, one journal entry per batch; another --lab slug gets "
        "patients but no staff accounts. The lab's blind indexes are sized for "
        "max(N, 100,000) patients."
    )

    def add_arguments(self, parser):
        parser.add_argument("--patients", type=int, default=0, help="synthetic patients (0)")
        parser.add_argument("--seed", type=int, default=None, help="random seed, for repeatability")
        parser.add_argument(
            "--if-absent", action="store_true", help="do nothing if the demo lab exists"
        )
        parser.add_argument("--lab", default=demo.DEMO_SLUG, help="lab slug (demo)")

    def handle(self, *args, patients, seed, if_absent, lab, **options):
        if patients < 0:
            raise CommandError("--patients must be zero or more")
        if if_absent and demo.demo_lab_exists(lab):
            self.stdout.write("demo lab: already present")
        else:

            started = time.monotonic()
            try:
                result = demo.create_demo(patients=patients, seed=seed, slug=lab,
                                          progress=self._progress(patients))
            except LabError as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write(f"demo lab: {result.lab.slug} ({result.lab.name})")
            if patients:
                elapsed = time.monotonic() - started
                self.stdout.write(
                    f"patients: {result.patients} synthetic (seed {seed or 0}) in "
                    f"{elapsed:.1f} s ({result.patients / max(elapsed, 1e-9):,.0f}/s)"
                )
        self.stdout.write(demo.login_instructions())

    def _progress(self, total: int):
        def report(done: int) -> None:
            if total >= 50_000:
                self.stderr.write(f"\r{done:,}/{total:,} patients", ending="")
                if done == total:
                    self.stderr.write("")

        return report
