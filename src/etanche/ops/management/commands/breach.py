import argparse
import json
import sys
from datetime import datetime
from pathlib import Path

import django_otp
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from etanche.accounts.models import User
from etanche.accounts.permissions import Perm
from etanche.accounts.services import confirmed_totp
from etanche.breach import drafts
from etanche.breach import services as breach
from etanche.breach.models import BreachCase
from etanche.imports.files import sha256_of
from etanche.labs.models import Lab
from etanche.ops.authority import acting_member
from etanche.tabular.readers import TabularError

HELP = """Breach response (GDPR art. 33-34, issue 18).

scan FILE --lab LAB --by USER [--case ID] [--json]: read a leaked file (CSV of any
delimiter and encoding, JSON array or lines, NDJSON, FHIR NDJSON or Bundle, SQL dump from
MySQL or PostgreSQL, XLSX; raw, .gz or .zip), classify its columns by content, match its
rows to the lab's patients through the blind indexes only, look for canaries, assess the
severity (ENISA 2013) and record the scan in a breach case (a new one unless --case).
--json prints one object: rows, columns [{index, header, category, share}], matched_rows
(1-based data-row numbers), matched_patients, canaries [{kind, export | lab, rows}],
exports, categories, severity, case. No name or NIR is ever printed.

case ID --by USER [--status S] [--aware-at ISO] [--note TEXT] [--FIELD TEXT]: show or
update a case (72-hour deadline from the time the lab became aware).
draft ID --by USER --cnil OUT.pdf [--text OUT.txt]: the notification to the CNIL, in French.
letters ID --by USER --recipient AGE1... --out OUT.pdf.age: the art. 34 letters, one per
affected patient, as one PDF encrypted to the DPO's age key (never in clear on disk).

--by USER names the lab's DPO (breach permission); their current TOTP code is read on
standard input. Every action is journaled with ids and counts only."""


def _raw():
    return argparse.RawDescriptionHelpFormatter


def _named_user(username: str) -> User:
    """The named person, proven by their current TOTP code read on stdin."""
    user = User.objects.filter(username=username, is_active=True).first()
    device = confirmed_totp(user) if user else None
    code = sys.stdin.readline().strip() if not sys.stdin.isatty() else ""
    if user is None or device is None:
        raise CommandError(f"{username}: no active account with a TOTP app")
    if not code:
        raise CommandError(f"{username}'s current TOTP code is required on standard input")
    if not code.isdigit() or not django_otp.verify_token(user, device.persistent_id, code):
        raise CommandError(f"wrong or expired TOTP code for {username}")
    return user


def _one_line(exc: ValidationError) -> str:
    return " ".join(exc.messages)


class Command(BaseCommand):
    help = HELP
    permissions = frozenset({Perm.BREACH_MANAGE})

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.formatter_class = _raw()
        return parser

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True,
                                    metavar="{scan,case,draft,letters}")
        scan = sub.add_parser("scan", help="scan a leaked file", description=HELP,
                              formatter_class=_raw())
        scan.add_argument("file")
        scan.add_argument("--lab", required=True, help="slug of the lab")
        scan.add_argument("--by", required=True, help="username of the DPO")
        scan.add_argument("--case", type=int, help="add the scan to this case")
        scan.add_argument("--json", dest="as_json", action="store_true",
                          help="print one JSON object")
        case = sub.add_parser("case", help="show or update a breach case")
        case.add_argument("id", type=int)
        case.add_argument("--by", required=True)
        case.add_argument("--status", choices=["open", "notified", "closed"])
        case.add_argument("--note", default="")
        case.add_argument("--aware-at", help="when the lab became aware (ISO date-time)")
        for name in breach.FIELDS:
            case.add_argument(f"--{name.replace('_', '-')}", dest=name)
        draft = sub.add_parser("draft", help="the CNIL notification draft (PDF, text)")
        draft.add_argument("id", type=int)
        draft.add_argument("--by", required=True)
        draft.add_argument("--cnil", required=True, help="PDF file to write (must not exist)")
        draft.add_argument("--text", help="also write the text version here")
        letters = sub.add_parser("letters", help="art. 34 letters, encrypted to the DPO")
        letters.add_argument("id", type=int)
        letters.add_argument("--by", required=True)
        letters.add_argument("--recipient", required=True, help="the DPO's age public key")
        letters.add_argument("--out", required=True, help="file to write (must not exist)")

    def handle(self, *args, action, **options):
        {"scan": self._scan, "case": self._show_case, "draft": self._draft,
         "letters": self._letters}[action](**options)

    # --- helpers --------------------------------------------------------------------------

    def _case(self, pk: int, user) -> BreachCase:
        case = BreachCase.objects.select_related("lab").filter(pk=pk).first()
        if case is None:
            raise CommandError(f"no breach case {pk}")
        acting_member(self, user, case.lab, Perm.BREACH_MANAGE)
        return case

    @staticmethod
    def _new_file(path: str) -> Path:
        out = Path(path)
        if out.exists():
            raise CommandError(f"{path}: already exists")
        if not out.parent.is_dir():
            raise CommandError(f"{out.parent}: no such directory")
        return out

    # --- actions --------------------------------------------------------------------------

    def _scan(self, file, lab, by, case, as_json, **_):
        lab_row = Lab.objects.filter(slug=lab).first()
        if lab_row is None:
            raise CommandError(f"no lab with slug {lab!r}")
        user = _named_user(by)
        acting_member(self, user, lab_row, Perm.BREACH_MANAGE)
        target = None
        if case is not None:
            target = BreachCase.objects.for_lab(lab_row).filter(pk=case).first()
            if target is None:
                raise CommandError(f"no breach case {case} in lab {lab}")
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"{file}: no such file")
        try:
            found, scan, result = breach.scan_into_case(lab_row, user, path, sha256_of(path),
                                                        case=target, via="cli")
        except TabularError as exc:
            raise CommandError(str(exc)) from None
        public = dict(result.public, case=found.pk, scan=scan.pk,
                      deadline=found.deadline.isoformat())
        if as_json:
            self.stdout.write(json.dumps(public, ensure_ascii=False, sort_keys=True))
            return
        self._show_scan(public)

    def _show_scan(self, public: dict) -> None:
        write = self.stdout.write
        write(f"lignes : {public['rows']} ({public['format']}"
              f"{', ' + public['compression'] if public['compression'] else ''})")
        write("colonnes :")
        for column in public["columns"]:
            write(f"  {column['index']:>3} {column['header'][:30]!r:34} "
                  f"{column['category'] or '-':12} {column['share']:.0%}")
        write("catégories : " + ", ".join(f"{k} {v}" for k, v in public["categories"].items()))
        write(f"lignes rapprochées : {len(public['matched_rows'])} ; patients concernés : "
              f"{public['matched_patients']}")
        for canary in public["canaries"]:
            if canary["kind"] == "export":
                export = canary["export"]
                write(f"canari de l'export {export['id']} ({export.get('profile', '?')}, "
                      f"demandé par {export.get('requester', '?')}, destinataire "
                      f"{export.get('recipient', '?')}) : lignes {canary['rows'][:10]}")
            else:
                write(f"canari du laboratoire : la base du laboratoire est la source "
                      f"(lignes {canary['rows'][:10]})")
        for export in public["exports"]:
            write(f"export {export['export']} : {export['matched_inside']:.0%} des patients "
                  f"rapprochés y figuraient ; {export['export_in_file']:.0%} de l'export est "
                  "dans le fichier")
        severity = public["severity"]
        write(f"gravité (ENISA) : {severity['score']} ({severity['level_fr']}) = DPC "
              f"{severity['dpc']['score']} x EI {severity['ei']['score']} + CB "
              f"{severity['cb']['score']}")
        write(f"dossier : {public['case']} (notification CNIL avant le {public['deadline']})")

    def _show_case(self, id, by, status, note, aware_at, **fields):
        user = _named_user(by)
        case = self._case(id, user)
        changes = {k: v for k, v in fields.items() if k in breach.FIELDS and v is not None}
        if aware_at:
            try:
                moment = datetime.fromisoformat(aware_at)
            except ValueError:
                raise CommandError("--aware-at: an ISO date-time, 2026-12-01T09:30") from None
            if timezone.is_naive(moment):
                moment = timezone.make_aware(moment)
            changes["aware_at"] = moment
        try:
            if changes or status or note:
                case = breach.update_case(case, user, via="cli", status=status, note=note,
                                          **changes)
        except ValidationError as exc:
            raise CommandError(_one_line(exc)) from None
        summary = breach.case_summary(case)
        self.stdout.write(f"dossier {case.pk} : {case.get_status_display()}")
        self.stdout.write(f"connaissance : {case.aware_at.isoformat()} ; échéance CNIL : "
                          f"{summary['deadline'].isoformat()}"
                          f"{' (DÉPASSÉE)' if summary['overdue'] else ''}")
        self.stdout.write(f"patients concernés : {summary['patients']} ; enregistrements : "
                          f"{summary['records']} ; analyses : {len(summary['scans'])}")
        self.stdout.write(f"gravité : {summary['severity']['score']} "
                          f"({summary['severity']['level_fr']})")

    def _draft(self, id, by, cnil, text, **_):
        user = _named_user(by)
        case = self._case(id, user)
        pdf_path = self._new_file(cnil)
        text_path = self._new_file(text) if text else None
        body, pdf = drafts.cnil_notification(case, user, via="cli")
        pdf_path.write_bytes(pdf)
        if text_path:
            text_path.write_text(body, encoding="utf-8")
        self.stdout.write(f"brouillon CNIL écrit : {pdf_path}")

    def _letters(self, id, by, recipient, out, **_):
        user = _named_user(by)
        case = self._case(id, user)
        path = self._new_file(out)
        try:
            count = drafts.write_letters(case, user, recipient, path, via="cli")
        except drafts.DraftError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"{count} lettre(s) chiffrée(s) pour le DPO : {path}")
