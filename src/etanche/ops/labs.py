"""Labs: creation (with their keys) and closure by shredding their keys."""

import re

from django.db import transaction
from stdnum import luhn

from etanche.journal.models import Action
from etanche.journal.services import close_chain, record
from etanche.labs.models import Lab
from etanche.vault import indexes, shred
from etanche.vault import services as vault
from etanche.vault.errors import VaultError
from etanche.watch import canaries

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


class LabError(Exception):
    """Bad input or a refused operation on a lab; one line, no personal data."""


def validate_finess(number: str) -> str:
    """A FINESS number: 9 digits, the last one a Luhn check digit."""
    number = (number or "").strip().replace(" ", "")
    if len(number) != 9 or not number.isdigit():
        raise LabError("FINESS must be 9 digits")
    if not luhn.is_valid(number):
        raise LabError("FINESS check digit is wrong (Luhn key): check the number")
    return number


def get_lab(slug: str) -> Lab:
    try:
        return Lab.objects.get(slug=slug)
    except Lab.DoesNotExist:
        raise LabError(f"no lab {slug!r}; `etanche labs list` shows them") from None


def check_expected_patients(value) -> int:
    """The expected number of patients, which fixes the lab's blind-index sizes for life."""

    if isinstance(value, str):
        text = value.strip().replace("_", "").replace(",", "").replace(" ", "")
        if not text.isdigit():
            raise LabError("expected patients must be a whole number, e.g. 100000")
        value = int(text)
    try:
        return indexes.check_expected(value)
    except VaultError as exc:
        raise LabError(str(exc)) from None


@transaction.atomic
def create_lab(slug: str, name: str, finess: str, *, user=None,
               expected_patients=None) -> Lab:
    """Create a lab and provision its keysets in one transaction, journaled.

    `expected_patients` (default 100,000) sizes the lab's blind indexes once and
    for good (vault/indexes.py): resizing would mean re-indexing every row.
    """

    if expected_patients is None:
        expected_patients = indexes.DEFAULT_EXPECTED
    expected_patients = check_expected_patients(expected_patients)

    slug = (slug or "").strip()
    if not SLUG_RE.match(slug):
        raise LabError("lab slug must be 1-40 lower-case letters, digits or dashes")
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise LabError("lab name must be 1-200 characters")
    finess = validate_finess(finess)
    if Lab.objects.filter(slug=slug).exists():
        raise LabError(f"a lab {slug!r} already exists")
    if Lab.objects.filter(finess=finess).exists():
        raise LabError(f"FINESS {finess} already belongs to another lab")
    lab = Lab.objects.create(slug=slug, name=name, finess=finess)
    vault.provision_lab(lab, expected_patients)
    record(lab=lab, user=user, action=Action.LAB_CREATE, object_type="lab", object_id=lab.pk,
           detail={"expected_patients": expected_patients})
    canaries.seed_for_new_lab(lab, expected_patients)
    return lab


@transaction.atomic
def shred_lab(slug: str, *, confirm: str, user=None) -> Lab:
    """Destroy a closed lab's keys: its sealed data becomes unrecoverable.

    The lab's journal chain is closed first (its state is sealed with the
    lab's keys), and the shredding is also journaled on the system chain,
    which survives it.
    """

    if confirm != slug:
        raise LabError(f"to shred lab {slug!r}, repeat its slug: --confirm {slug}")
    lab = get_lab(slug)
    detail = {"lab_id": lab.pk}
    record(lab=lab, user=user, action=Action.KEY_SHRED, object_type="lab", object_id=lab.pk)
    close_chain(lab, user=user, reason="lab keys shredded")
    record(
        lab=None, user=user, action=Action.KEY_SHRED, object_type="lab", object_id=lab.pk,
        detail=detail,
    )
    shred.shred_lab_keys(lab)
    return lab
