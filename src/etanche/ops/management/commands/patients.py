import argparse
import json
import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from etanche.accounts.permissions import Perm
from etanche.labs.models import Lab
from etanche.ops.authority import acting_member
from etanche.ops.person import named_user
from etanche.patients import services

ADD_HELP = """Register one patient read as a JSON object on stdin; prints the new id.

Required: birth_name, first_names (list of birth first names), birth_date (YYYY-MM-DD),
sex ("M" or "F"), birthplace_code (INSEE commune code, 2A/2B for Corsica, or 99 + country
code). Usual: nir (the patient's own NIR or NIA, checked against the traits), phone,
email. Optional: ins_oid (default 1.2.250.1.213.1.4.8 NIR; .9 NIA), used_name,
used_first_name, phones (list), street, postal_code, city, amo_regime (2 digits),
amo_fund (3), amo_centre (4), amc_insurer, amc_contract, physician_name, physician_rpps
(11 digits), blood_group (A+ ... O-), notes, identity_status (PROV, or VALI with
id_document = {"kind": "cni"|"passeport"|"titre_sejour", "checked_on": "YYYY-MM-DD"};
RECUP and QUAL need an INSi connection, which Étanche does not have).

Invalid input: one line per faulty field on stderr, exit status 2. A likely duplicate
(same birth name + birth date, same phonetic names + birth date) is refused with the
candidate ids unless --not-duplicate states it is another person (twins). The same NIR
as another record is refused whatever the option (exit 3): one NIR is one person; the
NIR of the insured person covering the patient (a parent's card) goes in insured_nir.
Journaled under the OS user (and $ETANCHE_OPERATOR when set)."""

FIND_HELP = """Find patients by NIR, by name (birth or used name, with first name and/or birth
date), or by phone; prints one JSON object per line (id, names, birth date, sex, identity
status). Accents, case, hyphens and apostrophes do not matter; with --first-name and
--birth-date, names that sound alike are found when none matches exactly. Journaled
with the kinds of criteria, never their values."""


def BadInput(message: str) -> CommandError:  # noqa: N802  reads as the exception it builds
    """Exit status 2: the input was wrong (a refused duplicate is 3, other errors 1)."""
    return CommandError(message, returncode=2)


def _lines(exc: ValidationError) -> list[str]:
    if hasattr(exc, "error_dict"):
        return [f"{field}: {' '.join(messages)}" for field, messages in exc.message_dict.items()]
    return [" ".join(exc.messages)]


UPDATE_HELP = """Correct one patient record, acting as --by USER: standard input holds that
user's current TOTP code on its first line, then one JSON object of the fields to change
(the keys of `add`; "" clears an optional field). The checks of registration apply, and
the duplicate check when a trait it reads changes (--not-duplicate as for `add`; the same
NIR as another record is always refused, exit 3). Changing an INS trait of a validated
identity sets it back to PROV: check an ID document again (identity_status VALI with
id_document). The previous values are kept sealed as a version (who, when, --reason)."""

MERGE_HELP = """Merge record OTHER into KEEP, acting as --by USER (a biologist; TOTP code on
standard input). KEEP keeps its values except the fields named by --take (comma-separated
envelope fields taken from OTHER); OTHER then redirects to KEEP and its requests show with
KEEP's. `unmerge KEEP OTHER` undoes it within 30 days. Journaled on both ids."""


class Command(BaseCommand):
    help = ("Register, find, correct and merge patients of a lab (identity sealed by the "
            "vault). `etanche patients add --help` (and find, update, merge) say more.")
    # Checked once per action by acting_member (update, merge, unmerge act as a person).
    permissions = frozenset({Perm.PATIENT_WRITE, Perm.PATIENT_MERGE})

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True,
                                    metavar="{add,find,update,merge,unmerge}")
        update = sub.add_parser("update", help="correct one patient (TOTP, then JSON on stdin)",
                                description=UPDATE_HELP, formatter_class=_raw())
        update.add_argument("id", help="patient id")
        update.add_argument("--lab", required=True, help="slug of the lab")
        update.add_argument("--by", required=True, help="username of the person correcting")
        update.add_argument("--reason", default="", help="why (kept with the version)")
        update.add_argument("--not-duplicate", action="store_true",
                            help="correct even if likely duplicates exist (another person)")
        for name, text in (("merge", "merge OTHER into KEEP (TOTP on stdin)"),
                           ("unmerge", "undo a merge of the last 30 days (TOTP on stdin)")):
            action = sub.add_parser(name, help=text, description=MERGE_HELP,
                                    formatter_class=_raw())
            action.add_argument("keep", help="id of the record kept")
            action.add_argument("other", help="id of the record merged into it")
            action.add_argument("--lab", required=True, help="slug of the lab")
            action.add_argument("--by", required=True, help="username of the biologist")
            if name == "merge":
                action.add_argument("--take", default="",
                                    help="fields whose value comes from OTHER, e.g. email,phones")
                action.add_argument("--reason", default="")
        add = sub.add_parser("add", help="register one patient from JSON on stdin",
                             description=ADD_HELP, formatter_class=_raw())
        add.add_argument("--lab", required=True, help="slug of the lab")
        add.add_argument("--not-duplicate", action="store_true",
                         help="register even if likely duplicates exist (another person)")
        find = sub.add_parser("find", help="find patients", description=FIND_HELP,
                              formatter_class=_raw())
        find.add_argument("--lab", required=True, help="slug of the lab")
        one = find.add_mutually_exclusive_group(required=True)
        one.add_argument("--nir", help="NIR or NIA (15 characters, spaces allowed)")
        one.add_argument("--name", help="birth or used name")
        one.add_argument("--phone", help="phone number, national or +33...")
        find.add_argument("--first-name", help="with --name")
        find.add_argument("--birth-date", help="with --name, YYYY-MM-DD")
        find.add_argument("--page", type=int, default=1, help="page of 20 results (1)")

    def handle(self, *args, action, **options):
        getattr(self, f"_{action}")(**options)

    @staticmethod
    def _lab(slug: str) -> Lab:
        lab = Lab.objects.filter(slug=slug).first()
        if lab is None:
            raise CommandError(f"no lab with slug {slug!r} (see `etanche labs list`)")
        return lab

    def _refuse(self, exc: ValidationError):
        lines = _lines(exc)
        for line in lines[:-1]:
            self.stderr.write(line)
        raise BadInput(lines[-1]) from None

    def _add(self, *, lab, not_duplicate, **_):
        lab = self._lab(lab)
        try:
            data = json.loads(sys.stdin.read())
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise BadInput("stdin: one JSON object expected") from None
        if not isinstance(data, dict):
            raise BadInput("stdin: one JSON object expected")
        try:
            result = services.register_patient(lab, None, data, not_duplicate=not_duplicate)
        except ValidationError as exc:
            self._refuse(exc)
        except services.DuplicatePatient as exc:
            raise _duplicate(exc) from None
        for warning in result.warnings:
            self.stderr.write(f"warning: {warning}")
        self.stdout.write(str(result.id))

    def _update(self, *, id, lab, by, reason, not_duplicate, **_):
        lab = self._lab(lab)
        user = named_user(by)
        acting_member(self, user, lab, Perm.PATIENT_WRITE)
        try:
            data = json.loads(sys.stdin.read())
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise BadInput("stdin: the TOTP code, then one JSON object expected") from None
        if not isinstance(data, dict):
            raise BadInput("stdin: the TOTP code, then one JSON object expected")
        try:
            warnings = services.update_patient(lab, user, id, data, purpose="cli",
                                               reason=reason, not_duplicate=not_duplicate)
        except ValidationError as exc:
            self._refuse(exc)
        except services.DuplicatePatient as exc:
            raise _duplicate(exc) from None
        except services.PatientError as exc:
            raise CommandError(str(exc)) from None
        for warning in warnings:
            self.stderr.write(f"warning: {warning}")
        self.stdout.write(f"patient {id} corrected")

    def _merge(self, *, keep, other, lab, by, take, reason, **_):
        lab = self._lab(lab)
        user = named_user(by)
        acting_member(self, user, lab, Perm.PATIENT_MERGE)
        choices = {name.strip(): services.OTHER for name in take.split(",") if name.strip()}
        try:
            services.merge_patients(lab, user, keep, other, purpose="cli", choices=choices,
                                    reason=reason)
        except ValidationError:
            raise BadInput(f"--take: fields among {', '.join(services.MERGE_FIELDS)}") from None
        except services.PatientError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"patient {other} merged into {keep}")

    def _unmerge(self, *, keep, other, lab, by, **_):
        lab = self._lab(lab)
        user = named_user(by)
        acting_member(self, user, lab, Perm.PATIENT_MERGE)
        try:
            services.unmerge_patients(lab, user, keep, other, purpose="cli")
        except services.PatientError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"patient {other} no longer merged into {keep}")

    def _find(self, *, lab, nir, name, phone, first_name, birth_date, page, **_):
        if (first_name or birth_date) and not name:
            raise BadInput("--first-name and --birth-date go with --name")
        lab = self._lab(lab)
        try:
            found = services.search(lab, None, nir=nir, name=name, first_name=first_name,
                                    birth_date=birth_date, phone=phone, page=page,
                                    purpose="cli")
        except ValidationError as exc:
            self._refuse(exc)
        for summary in found.results:
            self.stdout.write(json.dumps(summary.as_dict(), ensure_ascii=False))
        if found.pages > 1:
            self.stderr.write(f"page {found.number}/{found.pages} ({found.total} patients)")


def _duplicate(exc: "services.DuplicatePatient") -> CommandError:
    ids = ", ".join(f"{c.id} ({'+'.join(c.reasons)})" for c in exc.candidates)
    if isinstance(exc, services.SameNir):
        return CommandError(
            f"refused: duplicate, the same NIR as patient {ids}; one NIR is one person: if "
            "it is the same person, merge the records (`etanche patients merge`); a parent's card "
            "goes in insured_nir", returncode=3)
    return CommandError(
        f"refused: likely duplicate of patient {ids}; check them with `etanche "
        "patients find`, or add --not-duplicate if this is another person", returncode=3)


def _raw():
    return argparse.RawDescriptionHelpFormatter
