from datetime import date
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from etanche.accounts.permissions import Perm
from etanche.labs.models import Lab
from etanche.ops.authority import acting_member
from etanche.ops.person import named_user
from etanche.rights import services as rights
from etanche.rights.models import Right, Status, SubjectRequest


def _one_line(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return " ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
    return " ".join(exc.messages)


class Command(BaseCommand):
    help = ("Data-subject requests (GDPR art. 15-21): `record` one (the right, how the "
            "identity was checked; due one month after receipt), `list` them with their "
            "deadline, `answer` one: access and portability write the encrypted answer (a ZIP "
            "of the French PDF and the FHIR R4 Bundle) to --out, for the person's age key "
            "(--recipient) or, without one, to a passphrase printed once, to give them "
            "separately; the other rights record the letter. Commands acting as a person "
            "(--by) read that user's TOTP code on standard input.")
    permissions = frozenset({Perm.SUBJECT_REQUEST})

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True,
                                    metavar="{record,list,answer}")
        record = sub.add_parser("record", help="record a request (TOTP on stdin)")
        record.add_argument("--lab", required=True)
        record.add_argument("--by", required=True, help="username of the DPO")
        record.add_argument("--patient", required=True, help="patient id")
        record.add_argument("--right", required=True, choices=Right.values)
        record.add_argument("--identity-check", required=True,
                            help="how the requester's identity was checked")
        record.add_argument("--received", help="date of receipt, YYYY-MM-DD (today)")
        listing = sub.add_parser("list", help="requests, open first, with days left")
        listing.add_argument("--lab", required=True)
        answer = sub.add_parser("answer", help="answer a request (TOTP on stdin)")
        answer.add_argument("id", type=int)
        answer.add_argument("--by", required=True, help="username of the DPO")
        answer.add_argument("--recipient", help="the person's age public key (age1...)")
        answer.add_argument("--out", help="file to write (access, portability; must not exist)")

    def handle(self, *args, action, **options):
        try:
            getattr(self, f"_{action}")(**options)
        except ValidationError as exc:
            raise CommandError(_one_line(exc), returncode=2) from None
        except rights.RightsError as exc:
            raise CommandError(str(exc)) from None

    @staticmethod
    def _lab(slug) -> Lab:
        lab = Lab.objects.filter(slug=slug).first()
        if lab is None:
            raise CommandError(f"no lab with slug {slug!r}")
        return lab

    def _record(self, *, lab, by, patient, right, identity_check, received, **_):
        lab = self._lab(lab)
        try:
            received_on = date.fromisoformat(received) if received else None
        except ValueError:
            raise CommandError("--received takes a date YYYY-MM-DD", returncode=2) from None
        user = named_user(by)
        acting_member(self, user, lab, Perm.SUBJECT_REQUEST)
        if not str(patient).isdigit():
            raise CommandError("--patient takes a patient id", returncode=2)
        item = rights.record_request(lab, user, int(patient), right,
                                     identity_check=identity_check, received_on=received_on)
        self.stdout.write(f"request {item.pk} recorded; answer due {item.due_on:%Y-%m-%d}")
        self.stdout.write(str(item.pk))

    def _list(self, *, lab, **_):
        lab = self._lab(lab)
        for item in SubjectRequest.objects.for_lab(lab).order_by("status", "due_on", "pk"):
            clock = (f"{rights.days_left(item)} days left" if item.status == Status.OPEN
                     else "answered")
            self.stdout.write(f"{item.pk}\tpatient {item.patient_id}\t{item.right}\t"
                              f"due {item.due_on:%Y-%m-%d}\t{clock}")

    def _answer(self, *, id, by, recipient, out, **_):
        item = SubjectRequest.objects.select_related("lab").filter(pk=id).first()
        if item is None:
            raise CommandError(f"no subject request {id}")
        if item.status != Status.OPEN:
            raise CommandError(f"request {id} was answered already")
        is_access = item.right in (Right.ACCESS, Right.PORTABILITY)
        if is_access and not out:
            raise CommandError("--out FILE is required for an access or portability answer",
                               returncode=2)
        user = named_user(by)
        acting_member(self, user, item.lab, Perm.SUBJECT_REQUEST)
        if not is_access:
            rights.answer_with_letter(item.lab, user, item)
            self.stdout.write(f"request {id} answered by letter:")
            self.stdout.write(item.get_sealed()["answer"])
            return
        try:
            target = open(out, "xb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise CommandError(f"cannot create {out}: {exc.strerror}") from None
        with target:
            try:
                answer = rights.answer_access(item.lab, user, item, recipient=recipient)
            except BaseException:
                target.close()
                Path(out).unlink(missing_ok=True)
                raise
            target.write(answer.data)
        self.stdout.write(f"request {id}: encrypted answer written to {out}")
        if answer.passphrase:
            self.stdout.write("passphrase (give it to the person separately, never with the "
                              f"file): {answer.passphrase}")
