"""Prescriber choices for a new request: offered, never filled in behind the user's back.

A request used to open with the previous request's prescriber already typed in;
changing only the name kept the other doctor's RPPS, and results would have
gone to the wrong doctor (issue 24, item 1). Now the form offers explicit
choices, each a name and its RPPS held together as ONE value: the last
prescribers of this patient (from their requests) and the user's own recent
ones (orders/memo.py). Nothing is selected until the user picks one or types
a new prescriber.

Reading the patient's last requests opens their sealed envelopes; the page
that offers the choices is the request form, whose opening of the patient's
record is itself journaled (patients.services.open_patient), so no second
entry is written for the same view (issue 24, item 8: one row per access).
"""

from dataclasses import dataclass
from datetime import date

from etanche.orders.models import Order

SEPARATOR = "|"
PATIENT, USER, CURRENT = "patient", "user", "current"
# How many past requests of the patient are opened, and how many choices are offered.
LOOK_BACK = 10
OFFERED = 5


@dataclass(frozen=True)
class Prescriber:
    name: str
    rpps: str = ""
    source: str = PATIENT  # PATIENT: this patient's requests; USER: the user's recent ones
    last_used: date | None = None

    @property
    def token(self) -> str:
        """The form value of the choice: name and RPPS travel together, never apart."""
        return f"{self.rpps}{SEPARATOR}{self.name}"

    @property
    def display(self) -> str:
        return f"{self.name} — RPPS {self.rpps}" if self.rpps else f"{self.name} — sans RPPS"


def parse_token(token: str) -> Prescriber | None:
    rpps, sep, name = (token or "").partition(SEPARATOR)
    if not sep or not name.strip() or (rpps and not rpps.isdigit()):
        return None
    return Prescriber(name=name.strip(), rpps=rpps)


def _key(name: str, rpps: str) -> tuple[str, str]:
    return (" ".join(name.split()).casefold(), rpps)


def of_patient(lab, patient_ids) -> list[Prescriber]:
    """The distinct prescribers of the patient's last requests, newest first."""
    rows = (Order.objects.for_lab(lab).filter(patient_id__in=list(patient_ids))
            .order_by("-created_at")[:LOOK_BACK])
    found: dict[tuple, Prescriber] = {}
    for order in rows:
        sealed = order.get_sealed()
        name = sealed.get("prescriber_name") or ""
        if not name:
            continue
        rpps = sealed.get("prescriber_rpps") or ""
        found.setdefault(_key(name, rpps), Prescriber(
            name=name, rpps=rpps, source=PATIENT,
            last_used=order.created_at.date()))
    return list(found.values())[:OFFERED]


def offered(for_patient: list[Prescriber], recent: list[dict]) -> list[Prescriber]:
    """The patient's prescribers, then the user's recent ones not already offered."""
    seen = {_key(p.name, p.rpps) for p in for_patient}
    choices = list(for_patient)
    for item in recent:
        name, rpps = item.get("name") or "", item.get("rpps") or ""
        if name and _key(name, rpps) not in seen:
            seen.add(_key(name, rpps))
            choices.append(Prescriber(name=name, rpps=rpps, source=USER))
    return choices[:OFFERED * 2]


def conflict(name: str, rpps: str, known: list[Prescriber]) -> Prescriber | None:
    """A known prescriber with the same RPPS under another name: the slip of issue 24."""
    if not rpps:
        return None
    typed = " ".join(name.split()).casefold()
    for other in known:
        if other.rpps == rpps and " ".join(other.name.split()).casefold() != typed:
            return other
    return None
