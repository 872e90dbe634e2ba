from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from etanche.accounts.permissions import Perm
from etanche.labs.models import Lab
from etanche.ops import retention
from etanche.ops.authority import acting_member
from etanche.ops.person import named_user
from etanche.patients.retention import policy, set_policy


class Command(BaseCommand):
    help = ("Delete the patient records past their lab's retention period "
            "(docs/retention.md), with their requests, specimens, versions and blind-index "
            "rows; records under a legal hold (an open data-subject request, a breach case "
            "not closed) are kept. --dry-run lists the ids due and deletes nothing. "
            "Journaled by ids and counts, never by identity. Run by the housekeeping loop "
            "of `etanche serve` for every lab. `set` changes a lab's periods, acting as a lab "
            "admin (--by, TOTP code on standard input).")
    permissions = frozenset({Perm.RETENTION_MANAGE})

    def add_arguments(self, parser):
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--lab", help="slug of the lab")
        target.add_argument("--all-labs", action="store_true", help="every lab (housekeeping)")
        parser.add_argument("action", choices=["run", "set"])
        parser.add_argument("--dry-run", action="store_true", help="list what is due only")
        parser.add_argument("--by", help="set: username of the lab admin")
        parser.add_argument("--years", type=int, help="set: years after the last activity")
        parser.add_argument("--minor-until-age", type=int, default=None,
                            help="set: a record is kept at least until this birthday")

    def handle(self, *args, action, lab, all_labs, dry_run, **options):
        if action == "set":
            return self._set(lab, **options)
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

    def _set(self, slug, *, by, years, minor_until_age, **_):
        lab = Lab.objects.filter(slug=slug).first() if slug else None
        if lab is None or not by or years is None:
            raise CommandError("set needs --lab, --by and --years", returncode=2)
        user = named_user(by)
        acting_member(self, user, lab, Perm.RETENTION_MANAGE)
        current = policy(lab)
        try:
            rules = set_policy(lab, user, record_years=years, minor_until_age=(
                current.minor_until_age if minor_until_age is None else minor_until_age))
        except ValidationError as exc:
            raise CommandError(" ".join(f"{k}: {' '.join(v)}" for k, v in
                                        exc.message_dict.items()), returncode=2) from None
        self.stdout.write(f"lab {lab.slug}: {rules.record_years} years after last activity, "
                          f"kept until age {rules.minor_until_age}")
