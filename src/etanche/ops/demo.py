"""The demo lab that `make run` creates: synthetic staff, synthetic patients.

Demo passwords are random and written once to a 0600 file in the data
directory so a person trying Étanche can log in; they never reach the database
in clear (only their Argon2id hashes do). This is the one place where whoever
creates accounts holds their credentials, which is why it is for a demo only:
real accounts get an activation link (accounts/activation.py).
"""

import os
from dataclasses import dataclass

from django.conf import settings
from django.core.management.base import CommandError
from django.db import transaction
from stdnum import luhn

from etanche.accounts.services import create_demo_account
from etanche.labs.models import Lab
from etanche.ops.labs import create_lab
from etanche.patients.bulk import bulk_register
from etanche.patients.models import Patient
from etanche.synthetic.people import envelopes
from etanche.synthetic.requests import create_demo_orders
from etanche.vault import indexes

DEMO_SLUG = "demo"
DEMO_NAME = "Laboratoire de démonstration"
# Fictitious: department 99 holds no establishment; the last digit is the Luhn key.
DEMO_FINESS = "990000002"
# Synthetic staff, one per role: names common in France, no real person meant.
DEMO_STAFF = [
    ("claire.dubois", "Claire", "Dubois", "labadmin"),
    ("julien.martin", "Julien", "Martin", "frontdesk"),
    ("sophie.bernard", "Sophie", "Bernard", "biologist"),
    ("nathalie.petit", "Nathalie", "Petit", "dpo"),
    ("thomas.robert", "Thomas", "Robert", "auditor"),
]
CREDENTIALS_FILE = "demo-credentials.txt"
# Demo patients who get requests (the rest stay without, as in a real file).
DEMO_ORDERS_FOR = 300


@dataclass
class DemoResult:
    lab: Lab
    # (username, role, one-time password, otpauth URI)
    accounts: list[tuple[str, str, str, str]]
    patients: int = 0


def demo_lab_exists(slug: str = DEMO_SLUG) -> bool:
    return Lab.objects.filter(slug=slug).exists()


def credentials_path():
    return settings.DATA_DIR / CREDENTIALS_FILE


def create_demo(*, patients: int = 0, seed: int | None = None, slug: str = DEMO_SLUG,
                progress=None) -> DemoResult:
    """The demo lab with its staff, then `patients` synthetic patients in committed batches.

    Another slug (e.g. a benchmark lab) gets no staff: usernames are global.
    """
    result = _create_lab_and_staff(slug, expected_patients=_expected_for(patients))
    if patients:
        result.patients = bulk_register(result.lab, envelopes(patients, seed or 0),
                                        source="demo", progress=progress)
        if slug == DEMO_SLUG:
            # Requests for some of them, so the front-office pages have something to show.

            some = list(Patient.objects.for_lab(result.lab).order_by("pk")[:DEMO_ORDERS_FOR])
            create_demo_orders(result.lab, some, seed or 0)
    return result


def _expected_for(patients: int) -> int:
    """Blind indexes sized for what the demo will hold: at least the default 100,000."""

    return min(max(patients, indexes.DEFAULT_EXPECTED), indexes.MAX_EXPECTED)


def _other_finess(slug: str) -> str:

    # Department 99 holds no establishment: fictitious, like DEMO_FINESS.
    for serial in range(1, 10**6):
        body = f"99{(sum(map(ord, slug)) * 7919 + serial) % 10**6:06d}"
        number = body + luhn.calc_check_digit(body)
        if not Lab.objects.filter(finess=number).exists():
            return number
    raise CommandError("no free fictitious FINESS number left")


@transaction.atomic
def _create_lab_and_staff(slug: str, expected_patients: int | None = None) -> DemoResult:
    if Lab.objects.filter(slug=slug).exists():
        raise CommandError(f"the {slug} lab already exists (use --if-absent to keep it)")

    if slug != DEMO_SLUG:
        lab = create_lab(slug, f"{DEMO_NAME} ({slug})", _other_finess(slug),
                         expected_patients=expected_patients)
        return DemoResult(lab=lab, accounts=[])
    # Through the service so the demo lab gets its keys and its journal entry.
    lab = create_lab(DEMO_SLUG, DEMO_NAME, DEMO_FINESS, expected_patients=expected_patients)
    accounts = []
    for username, first, last, role in DEMO_STAFF:
        staff = create_demo_account(username=username, first_name=first, last_name=last,
                                    email=f"{username}@demo.invalid", lab=lab, role=role)
        accounts.append((username, role, staff.password, staff.otpauth_uri))
    _write_credentials(accounts)
    return DemoResult(lab=lab, accounts=accounts)


def _write_credentials(accounts: list[tuple[str, str, str, str]]) -> None:
    path = credentials_path()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(
            "# !!! FOR A DEMO ONLY - NEVER FOR REAL PATIENTS OR REAL STAFF !!!\n"
            "# Whoever reads this file holds every account below, second factor included:\n"
            "# that is acceptable for synthetic demo data and nothing else. Real accounts\n"
            "# are made with `etanche users create`, which gives the person an activation\n"
            "# link and nobody their credentials.\n"
            "# Demo accounts of the demo lab (synthetic people). Keep private.\n"
            "# Log in with the one-time password (changed at first login), then a code\n"
            "# from an authenticator app set up with the otpauth URI (paste it or\n"
            "# make a QR code of it).\n"
            "# username\trole\tone-time password\totpauth URI\n"
        )
        for username, role, password, uri in accounts:
            handle.write(f"{username}\t{role}\t{password}\t{uri}\n")


def login_instructions() -> str:
    path = credentials_path()
    if not path.exists():
        return "demo accounts: none recorded in the data directory"
    return f"log in at http://127.0.0.1:8000/login/ with an account listed in {path}"
