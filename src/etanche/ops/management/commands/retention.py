from django.core.management.base import BaseCommand, CommandError

from etanche.labs.models import Lab
from etanche.ops import retention
from etanche.patients.retention import policy


class Command(BaseCommand):
    help = ("Delete the patient records past their lab's retention period "
            "(docs/retention.md), with their requests, specimens, versions and blind-index "
            "rows; records under a legal hold (an open data-subject request, a breach case "
            "not closed) are kept. --dry-run lists the ids due and deletes nothing. "
            "Journaled by ids and counts, never by identity. Run by the housekeeping loop "
            "of `etanche serve` for every lab.")

    def add_arguments(self, parser):
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--lab", help="slug of the lab")
        target.add_argument("--all-labs", action="store_true", help="every lab (housekeeping)")
        parser.add_argument("action", choices=["run"])
        parser.add_argument("--dry-run", action="store_true", help="list what is due only")

    def handle(self, *args, action, lab, all_labs, dry_run, **options):
        if all_labs:
            labs = list(Lab.objects.order_by("pk"))
        else:
            labs = list(Lab.objects.filter(slug=lab))
            if not labs:
                raise CommandError(f"no lab with slug {lab!r}")
        for one in labs:
            rules = policy(one)
            report = retention.run(one, None, dry_run=dry_run)
            origin = "configured" if rules.configured else "default"
            head = (f"lab {one.slug}: {rules.record_years} years after last activity, kept "
                    f"until age {rules.minor_until_age} ({origin}); {report.held} held")
            if dry_run:
                self.stdout.write(f"{head}; {len(report.due)} records due (dry run, nothing "
                                  "deleted)")
                for pid in report.due:
                    self.stdout.write(f"due\tpatient {pid}")
            else:
                counts = ", ".join(f"{k} {v}" for k, v in report.counts.items())
                self.stdout.write(f"{head}; deleted: {counts}")
