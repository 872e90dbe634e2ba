"""A canary's identity and requests, shaped field by field like the lab's own rows.

The demo generator (people.py) keeps to ranges reserved for fiction, which is
right for a demo and wrong for a canary: one filter (demo INS OID, fiction phone
block, example.com, "fictive" insurer, RPPS 99, tubes at +7 and +70 minutes) would
remove it from a leaked file (issue 16, item 4). Here every field follows a
*donor*, a row of the lab's own, drawn at random per field (docs/exports.md):

- presence: a field is empty when its donor's is, so optional fields are as
  often empty as in the lab;
- shared values (organisations, communes, physicians, codes; any value that at
  least two donors hold, so it names nobody) are copied;
- values held by one donor only are never copied: names come from the INSEE
  tables, free texts from generic lists, codes keep their form with new digits
  and letters;
- identifiers (NIR, phones, e-mail, contract number) are made anew in the
  donor's form (OID, prefix, domain, pattern) and refused when a patient of
  the lab holds them (`taken`).
"""

import random
import string
from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta

from etanche.patients.intake import ENVELOPE_FIELDS
from etanche.patients.nir import INS_OID_NIR
from etanche.synthetic.people import (
    NOTES,
    STREET_NAMES,
    STREET_TYPES,
    _slug,
    _tables,
    envelope_of,
    iter_identities,
    nir_for,
)

# Replacements for free texts held by one donor only (they could name the person).
CLINICAL = ("Bilan de contrôle", "Bilan annuel", "Suivi de traitement", "Fatigue",
            "Bilan pré-opératoire", "Contrôle après traitement")
REQUEST_NOTES = ("Rappeler le patient", "Résultats au médecin traitant", "Patient à jeun",
                 "Envoyer une copie au patient")
# Copied together from one donor: they only make sense together. Organisations and
# physicians are copied even when one donor alone has them (a made-up one would stand
# out more); the others, when only their donor has them, come from the generator.
GROUPS = (("sex",), ("birthplace_code", "birthplace_label"), ("postal_code", "city"),
          ("identity_status", "id_document"), ("amo_regime", "amo_fund", "amo_centre"),
          ("amc_insurer",), ("physician_name", "physician_rpps"), ("blood_group",))
ALWAYS_COPIED = frozenset({("amc_insurer",), ("physician_name", "physician_rpps"), ("sex",),
                           ("blood_group",)})
ATTEMPTS = 50

Taken = Callable[[dict], set[str]]


def reshape(value: str, rng: random.Random) -> str:
    """The same form, other characters: a digit for a digit, a letter for a letter."""
    out = []
    for char in value:
        if char.isdigit():
            out.append(rng.choice(string.digits))
        elif char.isalpha():
            letter = rng.choice(string.ascii_lowercase)
            out.append(letter.upper() if char.isupper() else letter)
        else:
            out.append(char)
    return "".join(out)


class Donors:
    """The lab's rows the canary is shaped after, and which of their values are shared."""

    def __init__(self, rows: list[dict], rng: random.Random):
        self.rows, self.rng = rows, rng
        self._counts: dict[str, Counter] = {}

    def pick(self) -> dict:
        return self.rng.choice(self.rows)

    def group(self, names: tuple[str, ...]) -> dict:
        """One donor's values of `names`, or None for a combination no other donor has."""
        donor = self.pick()
        values = {name: donor.get(name) for name in names}
        key = "\x00".join(names)
        if key not in self._counts:
            self._counts[key] = Counter(repr([r.get(n) for n in names]) for r in self.rows)
        if names in ALWAYS_COPIED or self._counts[key][repr(list(values.values()))] >= 2:
            return values
        return None

    def shared(self, name: str, value) -> bool:
        if name not in self._counts:
            self._counts[name] = Counter(repr(row.get(name)) for row in self.rows)
        return self._counts[name][repr(value)] >= 2


def _name(donors: Donors, field: str, draw: Callable[[], str]):
    """The donor's value when shared, a fresh draw when only the donor has it, empty when
    the donor's is."""
    value = donors.pick().get(field)
    if not value:
        return value
    return value if donors.shared(field, value) else draw()


def _phone_like(phone: str, rng: random.Random) -> str:
    keep = 5 if phone.startswith("+33") else max(1, len(phone) - 8)
    return phone[:keep] + "".join(rng.choice(string.digits) for _ in phone[keep:])


def _email_like(email: str, donor: dict, env: dict, rng: random.Random) -> str:
    local, _, domain = email.partition("@")
    local = local.lower()
    first, last = (_slug((donor.get("first_names") or [""])[0]), _slug(donor.get("birth_name")))
    mine = (_slug(env["first_names"][0]), _slug(env["birth_name"]))
    if first and first in local or last and last in local:
        for theirs, ours in ((first, mine[0]), (last, mine[1])):
            if theirs:
                local = local.replace(theirs, "\x00" + ours + "\x00")
        parts = local.split("\x00")
        # Name parts kept, the rest (digits, initials) drawn again in the same form.
        local = "".join(p if i % 2 else reshape(p, rng) for i, p in enumerate(parts))
    else:
        local = reshape(local, rng)
    return f"{local}@{domain}"


def _fresh(group: tuple[str, ...], donors: Donors, rng: random.Random) -> dict:
    """Values for a group whose donor alone holds its values: the generator's, in form."""
    made = envelope_of(next(iter_identities(1, seed=rng.getrandbits(64))))
    donor = donors.pick()
    if group == ("identity_status", "id_document"):
        doc = dict(donor.get("id_document") or {}) or None
        if doc and doc.get("checked_on"):
            day = date.fromisoformat(doc["checked_on"]) + timedelta(days=rng.randint(-60, 60))
            doc["checked_on"] = min(day, date.today()).isoformat()
        return {"identity_status": donor.get("identity_status"), "id_document": doc}
    if group == ("amo_regime", "amo_fund", "amo_centre"):
        # Codes: each one kept when shared (the regime always is), else redrawn in form.
        return {name: value if donors.shared(name, value) or not value else reshape(value, rng)
                for name, value in ((n, donor.get(n)) for n in group)}
    return {name: made[name] for name in group}


def _identity(donors: Donors, rng: random.Random) -> dict:
    env: dict = {}
    for group in GROUPS:
        env.update(donors.group(group) or _fresh(group, donors, rng))
    sex = env["sex"] if env["sex"] in ("M", "F") else rng.choice("MF")
    tables = _tables()
    env["birth_name"] = _name(donors, "birth_name",
                              lambda: tables["surname"].draw(rng, 1)[0][0]) or "Martin"
    count = len(donors.pick().get("first_names") or ["x"])
    firsts = list(dict.fromkeys(f for f, _ in tables["first"][sex].draw(rng, max(1, count))))
    shared_first = _name(donors, "first_names", lambda: None)
    env["first_names"] = list(shared_first) if shared_first else firsts
    env["used_name"] = _name(donors, "used_name", lambda: tables["surname"].draw(rng, 1)[0][0])
    env["used_first_name"] = env["first_names"][0] if donors.pick().get("used_first_name") else ""
    born = date.fromisoformat(donors.pick()["birth_date"])
    env["birth_date"] = min(born + timedelta(days=rng.randint(-365, 365)),
                            date.today() - timedelta(days=1)).isoformat()
    street = donors.pick().get("street")
    env["street"] = street and (
        reshape(street.split(" ", 1)[0], rng) + " " + street.split(" ", 1)[1]
        if " " in street and donors.shared("street", street) else
        f"{rng.randint(1, 120)} {rng.choice(STREET_TYPES)} {rng.choice(STREET_NAMES)}")
    env["notes"] = _name(donors, "notes", lambda: rng.choice(NOTES))
    contract = donors.pick().get("amc_contract")
    env["amc_contract"] = reshape(contract, rng) if contract else contract
    return env


def _identifiers(env: dict, donors: Donors, rng: random.Random) -> dict:
    donor = donors.pick()
    oids = Counter(r.get("ins_oid") for r in donors.rows if r.get("ins"))
    # Every canary has an INS: it is how a leak scan finds it first.
    oid = donor.get("ins_oid") if donor.get("ins") else None
    oid = oid or (oids.most_common(1)[0][0] if oids else INS_OID_NIR)
    born = date.fromisoformat(env["birth_date"])
    place = env.get("birthplace_code") or "99100"
    ins = nir_for(env["sex"] if env["sex"] in ("M", "F") else "F", born, place,
                  rng.randint(1, 999))
    phones = [_phone_like(p, rng) for p in (donors.pick().get("phones") or [])]
    donor = donors.pick()
    email = _email_like(donor["email"], donor, env, rng) if donor.get("email") else ""
    return {"ins": ins, "ins_oid": oid, "phones": phones, "email": email}


def canary_envelope(rows: list[dict], *, taken: Taken, rng: random.Random) -> dict:
    """An envelope shaped after `rows` (the lab's own, at least one), with identifiers
    that `taken(env)` (-> names among "ins", "email", "phone" already in use) accepts."""
    donors = Donors(rows, rng)
    env = _identity(donors, rng)
    for _ in range(ATTEMPTS):
        env.update(_identifiers(env, donors, rng))
        if not taken(env):
            break
    else:
        raise RuntimeError("no free identifiers for a canary after many draws")
    env = {name: env.get(name) for name in ENVELOPE_FIELDS}
    for name in ("used_name", "used_first_name", "street", "notes", "email", "amc_contract"):
        env[name] = env[name] or ""
    return env


def canary_request(donors: list[dict], pool: list[dict], rng: random.Random) -> dict:
    """The form of one request (no number, barcode or id yet: the caller gives them) shaped
    after `donors`, requests of the lab as `orders.services.requests_of_patients` gives
    them (sealed and specimens). `pool`: the same, to draw the date from another one."""
    model = rng.choice(donors)
    created = rng.choice(pool)["created_at"] + timedelta(minutes=rng.uniform(-90, 90))
    sealed = dict(model.get("sealed") or {})
    shared = Donors([d.get("sealed") or {} for d in pool], rng)
    for key, texts in (("clinical_info", CLINICAL), ("notes", REQUEST_NOTES)):
        if sealed.get(key) and not shared.shared(key, sealed[key]):
            sealed[key] = rng.choice(texts)
    if sealed.get("prescription_date"):
        lag = model["created_at"].date() - date.fromisoformat(sealed["prescription_date"])
        sealed["prescription_date"] = (created.date() - lag).isoformat()
    sealed["cancel_reason"] = sealed["reject_comment"] = ""

    # One pair of delays per request, as one drawing of the tubes and one reception.
    scale, shift = rng.uniform(0.8, 1.25), timedelta(seconds=rng.uniform(-60, 60))

    def later(moment, since, then):
        if moment is None or since is None or then is None:
            return None
        return then + (moment - since) * scale + shift

    specimens = []
    for tube in model.get("specimens") or []:
        sampled = later(tube.get("sampled_at"), model["created_at"], created)
        received = later(tube.get("received_at"), tube.get("sampled_at"), sampled)
        specimens.append({"container": tube["container"], "sampled_at": sampled,
                          "received_at": received})
    return {"status": model["status"], "urgent": model["urgent"], "created_at": created,
            "sealed": sealed, "tests": list(model["tests"]), "specimens": specimens}
