import argparse
import json
import sys

import django_otp
from django.core.management.base import BaseCommand, CommandError

from etanche.accounts.models import User
from etanche.accounts.permissions import Perm
from etanche.accounts.services import confirmed_totp
from etanche.imports import requests as request_imports
from etanche.imports import services as imports
from etanche.imports.mapping import MappingError
from etanche.labs.models import Lab
from etanche.ops.authority import acting_member
from etanche.tabular.readers import TabularError

HELP = """Import a previous software's patients or past requests into a lab (issue 20).

FILE: CSV (delimiter, quoting and encoding detected: UTF-8, UTF-8 with BOM, Latin-1,
Windows-1252), XLSX (first sheet, values only), NDJSON, FHIR NDJSON or a FHIR Bundle
(Étanche's own migration export, decrypted, included), raw, .gz or .zip. It is read in
place, twice (check, then write); nothing is written beside it.

--mapping auto (default) proposes which column is which field from the headers and the
content, and prints it; --mapping FILE.toml overrides it (docs in etanche.imports.mapping:
[columns], [formats], [sex], [constants], duplicates = "flag" | "skip").

Every row goes through the registration form's checks; every refused row is reported with
its number, field and French reason, every likely duplicate (in the file or among the
lab's patients) with the rule that matched. By default a file with a refused row imports
nothing (exit status 3); --accept-valid imports the valid rows. --dry-run checks and
reports, writing nothing. Re-running a file skips the rows already imported (by the
previous software's id, or the identity traits without one), so an interrupted import is
finished by running it again. --json prints one object: rows, imported, rejected
[{row, field, reason, column}], duplicates [{row, rule, existing | first_row}], elapsed_s.

Who imports: --by USER names the lab member (import permission: the lab admin), whose
current TOTP code is read on standard input; without --by, patients are imported as the
server's operator, journaled under the OS user (and $ETANCHE_OPERATOR when set), as
`etanche patients add` registers one. Past requests need --by: each request is created by
a named member. Journaled: who, the file's SHA-256, counts."""


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


class Command(BaseCommand):
    help = HELP
    permissions = frozenset({Perm.IMPORT_RUN})

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.formatter_class = _raw()
        return parser

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="what", required=True, metavar="{patients,requests}")
        for name, text in (("patients", "import patients"),
                           ("requests", "import past requests (after their patients)")):
            action = sub.add_parser(name, help=text, description=HELP, formatter_class=_raw())
            action.add_argument("file")
            action.add_argument("--lab", required=True, help="slug of the lab")
            action.add_argument("--by", required=name == "requests",
                                help="username of the importing member (TOTP on stdin)")
            action.add_argument("--mapping", default="auto", help="auto, or a TOML file")
            action.add_argument("--dry-run", action="store_true", help="check, write nothing")
            action.add_argument("--accept-valid", action="store_true",
                                help="import the valid rows even if others are refused")
            action.add_argument("--json", dest="as_json", action="store_true",
                                help="print one JSON object")

    def handle(self, *args, what, file, lab, by, mapping, dry_run, accept_valid, as_json, **_):
        lab_row = Lab.objects.filter(slug=lab).first()
        if lab_row is None:
            raise CommandError(f"no lab with slug {lab!r}")
        user = None  # the operator: journaled under the OS user (journal.actor)
        if by:
            user = _named_user(by)
            acting_member(self, user, lab_row, Perm.IMPORT_RUN)
        out = self.stderr if as_json else self.stdout
        try:
            plan = imports.plan(file, what, mapping)
            self._show_plan(out, plan)
            run = imports.import_patients if what == "patients" else \
                request_imports.import_requests
            report = run(lab_row, user, file, plan, dry_run=dry_run, accept_valid=accept_valid)
        except (TabularError, MappingError, imports.ImportRefused) as exc:
            raise CommandError(str(exc)) from None
        except FileNotFoundError:
            raise CommandError(f"{file}: no such file") from None
        except IsADirectoryError:
            raise CommandError(f"{file}: is a directory") from None
        if as_json:
            self.stdout.write(_dumps(report.as_json()))
        else:
            self._show_report(report, dry_run=dry_run)
        if report.rejected and not accept_valid and not dry_run:
            raise CommandError(f"{report.rejected_rows} ligne(s) refusée(s) : rien n'a été "
                               "importé (corrigez-les, ou --accept-valid).", returncode=3)

    @staticmethod
    def _show_plan(out, plan) -> None:
        facts = ", ".join(f"{k} {v!r}" for k, v in plan.facts().items() if v)
        out.write(f"fichier : {facts}")
        if plan.mapping is None:
            out.write("correspondance : ressources FHIR (Patient, Practitioner, Coverage, "
                      "ServiceRequest)")
            return
        out.write("correspondance (colonne -> champ) :")
        for line in plan.mapping.describe():
            out.write(line)
        unmapped = [c for c in plan.header if c not in plan.mapping.columns]
        if unmapped:
            out.write(f"  non importées : {', '.join(repr(c) for c in unmapped)}")

    def _show_report(self, report, *, dry_run: bool) -> None:
        for item in report.rejected:
            column = f" (colonne {item['column']!r})" if item.get("column") else ""
            self.stdout.write(f"ligne {item['row']} : {item['field']}{column} : {item['reason']}")
        for item in report.duplicates:
            other = (f"patient {item['existing']}" if "existing" in item
                     else f"ligne {item['first_row']}")
            self.stdout.write(f"ligne {item['row']} : doublon probable ({item['rule']}) de "
                              f"{other}")
        verb = "à importer" if dry_run else "importées"
        self.stdout.write(
            f"{report.rows} lignes lues, {report.rejected_rows} refusées, "
            f"{len(report.duplicates)} doublons probables, {report.already} déjà importées, "
            f"{report.imported if not dry_run else '-'} {verb} ({report.elapsed_s} s)"
            + (" ; essai à blanc : rien n'a été écrit" if dry_run else ""))


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def _raw():
    return argparse.RawDescriptionHelpFormatter
