"""Privacy monitoring: a staff member opening a relative's, a neighbour's or a co-worker's file.

    privacy.set_identity(lab, user_id, birth_name=, birth_date=, phone=, nir=,
                         street=, postal_code=)
    privacy.check_namesake / check_phone / check_address / check_coworker
                                                             (rules, watch/engine.py)

Staff identities live here, not in accounts: sealed like a patient's envelope, with
the patients' blind indexes beside them (same lab keys, same normalisation), so a
read patient is compared with them by index value, without unsealing anyone. Index
values are truncated on purpose (a few patients share each), so a match of values
is only a candidate: the two envelopes concerned, and only those, are then unsealed
and compared exactly, in the worker, and nothing of them leaves it but the alert's
ids. The neighbour (or family) rule compares postal addresses: the patients' address
index (street words and postcode, patients/indexing.py address_key), then the two
normalised addresses.
"""

from collections import defaultdict

from django.core.exceptions import ValidationError

from etanche.patients import indexing, validators
from etanche.patients.models import Patient, PatientIndex
from etanche.patients.services import live_envelopes
from etanche.watch.models import StaffIdentity


def has_identity(lab, user_id: int) -> bool:
    return StaffIdentity.objects.for_lab(lab).filter(user_id=user_id).exists()


def set_identity(lab, user_id: int, *, birth_name: str, birth_date: str, phone: str = "",
                 nir: str = "", street: str = "", postal_code: str = "") -> StaffIdentity:
    """Record (or replace) a staff member's identity for the privacy rules."""
    key = indexing.name_search_key(birth_name or "")
    if not key:
        raise ValidationError({"birth_name": ["Le nom de naissance est obligatoire."]})
    day = validators.parse_date(birth_date, what="La date de naissance").isoformat()
    phone = validators.normalize_phone(phone) if (phone or "").strip() else ""
    nir = (nir or "").replace(" ", "").upper()
    address = indexing.address_key(street, postal_code)
    if (street or "").strip() and not address:
        raise ValidationError({"postal_code": ["Le code postal accompagne l'adresse."]})
    env = {"birth_name": birth_name.strip(), "birth_date": day, "phone": phone,
           "nir": nir, "address": address or ""}
    row = (StaffIdentity.objects.for_lab(lab).filter(user_id=user_id).first()
           or StaffIdentity(lab_id=getattr(lab, "pk", lab), user_id=user_id))
    row.surname_index = indexing.lookup(lab, "surname", key)
    row.birth_name_dob_index = indexing.lookup(lab, "birth_name_dob",
                                               indexing.name_dob(birth_name, day))
    row.phone_index = indexing.lookup(lab, "phone", phone) if phone else None
    row.nir_index = indexing.lookup(lab, "nir", env["nir"]) if env["nir"] else None
    row.address_index = indexing.lookup(lab, "address", address) if address else None
    row.set_sealed(env)
    row.save()
    return row


class _Findings:
    """The four rules' hits over one batch, computed once (users x patients read)."""

    def __init__(self, batch, entries):
        self.namesake, self.phone, self.address, self.coworker = [], [], [], []
        reads = [e for e in entries if e.object_type == "patient" and e.object_id.isdigit()
                 and e.user_id]
        if not reads or not StaffIdentity.objects.for_lab(batch.lab_id).exists():
            return
        patient_ids = {int(e.object_id) for e in reads}
        sides = defaultdict(set)
        for pid, name, value in (PatientIndex.objects.filter(
                lab_id=batch.lab_id, patient_id__in=patient_ids, name__in=("surname", "phone"))
                .values_list("patient_id", "name", "value")):
            sides[pid].add((name, value))
        columns, addresses = {}, {}
        for pid, nir, bnd, address in (Patient.objects.for_lab(batch.lab_id)
                                       .filter(pk__in=patient_ids)
                                       .values_list("pk", "nir_index", "birth_name_dob_index",
                                                    "address_index")):
            columns[pid], addresses[pid] = (nir, bnd), address
        readers = {s.user_id: s for s in StaffIdentity.objects.for_lab(batch.lab_id)
                   .filter(user_id__in={e.user_id for e in reads})}
        staff_by_index = defaultdict(list)
        wanted = {v for pair in columns.values() for v in pair if v is not None}
        for staff in StaffIdentity.objects.for_lab(batch.lab_id).filter(
                birth_name_dob_index__in=wanted) | StaffIdentity.objects.for_lab(
                batch.lab_id).filter(nir_index__in=wanted):
            staff_by_index[("bnd", staff.birth_name_dob_index)].append(staff)
            if staff.nir_index is not None:
                staff_by_index[("nir", staff.nir_index)].append(staff)
        candidates = []
        for e in reads:
            pid = int(e.object_id)
            reader = readers.get(e.user_id)
            if reader is not None and ("surname", reader.surname_index) in sides[pid]:
                candidates.append(("namesake", e, pid, reader))
            if reader is not None and reader.phone_index is not None and (
                    ("phone", reader.phone_index) in sides[pid]):
                candidates.append(("phone", e, pid, reader))
            if reader is not None and reader.address_index is not None and (
                    reader.address_index == addresses.get(pid)):
                candidates.append(("address", e, pid, reader))
            nir, bnd = columns.get(pid, (None, None))
            for staff in {*staff_by_index[("nir", nir)], *staff_by_index[("bnd", bnd)]}:
                candidates.append(("coworker", e, pid, staff))
        if candidates:
            self._confirm(batch.lab_id, candidates)

    def _confirm(self, lab_id, candidates):
        envs = dict(live_envelopes(lab_id, {pid for _, _, pid, _ in candidates}))
        for kind, entry, pid, staff in candidates:
            env, own = envs.get(pid), staff.get_sealed()
            if env is None:
                continue
            if kind == "namesake" and indexing.name_search_key(own["birth_name"]) in {
                    indexing.name_search_key(env.get("birth_name") or ""),
                    indexing.name_search_key(env.get("used_name") or "")}:
                self.namesake.append((entry, pid, staff))
            elif kind == "phone" and own["phone"] in (env.get("phones") or []):
                self.phone.append((entry, pid, staff))
            elif kind == "address" and own.get("address") and own["address"] == (
                    indexing.address_key(env.get("street"), env.get("postal_code"))):
                self.address.append((entry, pid, staff))
            elif kind == "coworker" and (
                    (own["nir"] and own["nir"] == env.get("ins"))
                    or (own["birth_date"] == env.get("birth_date")
                        and indexing.name_search_key(own["birth_name"])
                        == indexing.name_search_key(env.get("birth_name") or ""))):
                self.coworker.append((entry, pid, staff))


def _findings(batch, entries) -> _Findings:
    cached = getattr(batch, "_privacy", None)
    if cached is None:
        cached = batch._privacy = _Findings(batch, entries)
    return cached


def _raise(batch, rule, found, subject):
    for entry, pid, staff in found:
        batch.hit(rule, entry, user_id=entry.user_id, patients=[pid], subject=subject(staff))


def check_namesake(batch, rule, entries):
    _raise(batch, rule, _findings(batch, entries).namesake, lambda s: "")


def check_phone(batch, rule, entries):
    _raise(batch, rule, _findings(batch, entries).phone, lambda s: "")


def check_address(batch, rule, entries):
    _raise(batch, rule, _findings(batch, entries).address, lambda s: "")


def check_coworker(batch, rule, entries):
    _raise(batch, rule, _findings(batch, entries).coworker, lambda s: f"staff:{s.user_id}")
