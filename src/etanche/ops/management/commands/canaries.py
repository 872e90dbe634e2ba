from django.core.management.base import BaseCommand, CommandError

from etanche.labs.models import Lab
from etanche.watch import canaries


class Command(BaseCommand):
    help = (
        "Lab canaries: honeypot patients (docs/watch.md). `seed` registers N synthetic "
        "patients stored exactly like real ones, with e-mail addresses at "
        "ETANCHE_CANARY_EMAIL_DOMAIN; any read, search hit or change of one raises a "
        "critical alert. Which rows they are is kept only as a keyed digest; `count` says how "
        "many the lab has."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="{seed,count}")
        seed = sub.add_parser("seed", help="register honeypot patients in a lab")
        seed.add_argument("--lab", required=True, help="slug of the lab")
        seed.add_argument("--count", type=int, default=3,
                          help=f"how many (1-{canaries.MAX_SEED}, default 3)")
        count = sub.add_parser("count", help="how many canaries the lab has")
        count.add_argument("--lab", required=True, help="slug of the lab")

    def handle(self, *args, action, lab, **options):
        found = Lab.objects.filter(slug=lab).first()
        if found is None:
            raise CommandError(f"no lab with slug {lab!r}")
        if action == "count":
            self.stdout.write(str(canaries.count(found)))
            return
        if not 1 <= options["count"] <= canaries.MAX_SEED:
            raise CommandError(f"--count must be between 1 and {canaries.MAX_SEED}")
        made = canaries.seed(found, options["count"])
        self.stdout.write(f"{made} canary patient(s) registered in lab {lab} "
                          f"({canaries.count(found)} in all)")
