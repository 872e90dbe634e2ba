"""Lab canaries: honeypot patients stored exactly like real ones, tripping an alert on any touch.

    canaries.seed(lab, count)        # registered through the patients service, like anyone
    canaries.seed_for_new_lab(lab)   # ops/labs.py create_lab: a few per 10,000 expected
    canaries.is_canary(lab, pid)
    canaries.check(batch, rule, entries)   # the honeypot rule (watch/engine.py)

A canary is a real Patient row registered by the patients service (sealed envelope,
blind indexes, side indexes, journal entries of a registration), with a synthetic
identity from the fiction ranges (synthetic/people.py) and an e-mail address at
ETANCHE_CANARY_EMAIL_DOMAIN, a domain the lab controls. Which rows are canaries is
kept only as a keyed digest of their ids (a key derived from the lab's keys): a dump
of the database shows no list of canary ids, and the digest cannot be recomputed
without the lab's keys. Nobody's real workflow finds them: search needs a NIR, a
phone, or a name with a birth date, and these belong to no one; a search by surname alone
lists a few people, and a canary's surnames are drawn among those no patient of the lab
carries when it is seeded; a patient registered later with one of them never brings the
canary into a list either: lists leave canaries out unless exact criteria name them and
no one else (left_out_of_lists, hooked into the patients' search and duplicate check).
"""

import json

from django.conf import settings
from django.db import transaction

from etanche.patients import indexing
from etanche.patients import services as patients
from etanche.patients.models import PatientIndex
from etanche.synthetic.people import one_envelope
from etanche.vault import services as vault
from etanche.watch.models import LabCanary

PURPOSE = "watch-lab-canary"
MAX_SEED = 100


def _key(lab) -> bytes:
    return vault.derive_key(lab, PURPOSE)


def digest(key: bytes, patient_id) -> str:
    return vault.keyed_digest(key, f"patient:{int(patient_id)}".encode()).hex()


def _input(env: dict) -> dict:
    local = env["email"].split("@", 1)[0] if env.get("email") else env["birth_name"].lower()
    data = {k: env[k] for k in ("birth_name", "first_names", "birth_date", "sex",
                                "birthplace_code", "ins_oid", "street", "postal_code", "city",
                                "phones", "amo_regime", "amo_fund", "amo_centre",
                                "amc_insurer", "amc_contract", "physician_name",
                                "physician_rpps", "blood_group") if env.get(k)}
    data["nir"] = env["ins"]
    if env.get("used_name"):
        data["used_name"] = env["used_name"]
    data["email"] = f"{local}@{settings.ETANCHE_CANARY_EMAIL_DOMAIN}"
    return data


def _surname_taken(lab, env: dict) -> bool:
    """Whether a patient of the lab may carry one of the canary's surnames (by blind index,
    so sometimes a false "yes": another draw). A canary of a surname no patient has never
    shows in the short list a search by surname alone gives."""
    values = [indexing.lookup(lab, "surname", key) for key in
              {indexing.name_search_key(env.get(k) or "") for k in ("birth_name", "used_name")}
              if key]
    return PatientIndex.objects.filter(lab_id=lab.pk, name="surname", value__in=values).exists()


def seed(lab, count: int = 1) -> int:
    """Register `count` canaries in `lab`; how many were made."""
    if not 1 <= count <= MAX_SEED:
        raise ValueError(f"count must be between 1 and {MAX_SEED}")
    key = _key(lab)
    made = 0
    with transaction.atomic():
        while made < count:
            env = one_envelope()
            if _surname_taken(lab, env):
                continue
            try:
                registered = patients.register_patient(lab, None, _input(env))
            except patients.DuplicatePatient:
                continue  # a synthetic identity already in the lab: draw another
            LabCanary.objects.create(lab_id=lab.pk, digest=digest(key, registered.id))
            made += 1
    return made


def for_expected(expected_patients: int) -> int:
    """ETANCHE_CANARIES_PER_10K per 10,000 expected patients, at least one (0: none)."""
    per = settings.ETANCHE_CANARIES_PER_10K
    return 0 if per <= 0 else min(MAX_SEED, max(1, expected_patients * per // 10_000))


def seed_for_new_lab(lab, expected_patients: int) -> int:
    wanted = for_expected(expected_patients)
    return seed(lab, wanted) if wanted else 0


# Above this many ids, the lab's canary digests are read and compared here (see below).
ASKED_BY_DIGEST_MAX = 1000


def canaries_among(lab, patient_ids) -> set[int]:
    ids = {int(p) for p in patient_ids if str(p).isdigit()}
    if not ids:
        return set()
    key = _key(lab)
    canaries = LabCanary.objects.for_lab(lab)
    if len(ids) > ASKED_BY_DIGEST_MAX:
        # An export or a breach scan asks about hundreds of thousands of patients; the lab
        # holds a few hundred canaries at most. Sending every id's digest made the query
        # itself the cost (15 s for the 442,656 patients of a full-size breach scan).
        stored = set(canaries.values_list("digest", flat=True))
        return {pid for pid in ids if digest(key, pid) in stored}
    by_digest = {digest(key, pid): pid for pid in ids}
    found = canaries.filter(digest__in=list(by_digest))
    return {by_digest[d] for d in found.values_list("digest", flat=True)}


# The criteria that name one person by a trait no real workflow types for a canary: its
# NIR or phone (fiction ranges), or its whole identity, spelt exactly (not by sound).
EXACT = ({"nir"}, {"phone"}, {"name", "first_name", "birth_date"})


def left_out_of_lists(lab, ids, *, criteria, phonetic=False) -> set[int]:
    """The canaries a list must not show (patients/listing.py, registered in watch/apps.py).

    A canary shows only to exact criteria (EXACT) that name no real record too: a search
    by surname, by surname and first name, by name and date, by sound, or a registration's
    duplicate check never lists one, whoever later registers with a canary's surname; a
    real namesake born the same day, or a real person given a canary's NIR, is the one
    listed, alone."""
    found = canaries_among(lab, ids)
    if not found:
        return set()
    exact = not phonetic and any(want <= set(criteria) for want in EXACT)
    return set() if exact and len(found) == len(ids) else found


def is_canary(lab, patient_id) -> bool:
    return bool(canaries_among(lab, [patient_id]))


def count(lab) -> int:
    return LabCanary.objects.for_lab(lab).count()


def _touched(entry) -> list:
    from_detail = []
    if entry.action == "search" and entry.detail:
        from_detail = _detail_ids(entry.detail)
    own = [entry.object_id] if entry.object_type == "patient" and entry.object_id else []
    return own + from_detail


def _detail_ids(text: str) -> list:
    try:
        shown = json.loads(text).get("shown") or []
    except (ValueError, AttributeError):
        return []
    return [str(x) for x in shown]


def check(batch, rule, entries) -> None:
    """The honeypot rule: an entry naming a canary (its object, or a search result shown)."""
    if not LabCanary.objects.for_lab(batch.lab_id).exists():
        return
    # Entries of no person (the seeding's own registration, the system) are no touch.
    wanted = {e: _touched(e) for e in entries if e.user_id is not None}
    hits = canaries_among(batch.lab_id, [p for ids in wanted.values() for p in ids])
    for e, ids in wanted.items():
        touched = sorted({int(p) for p in ids if str(p).isdigit()} & hits)
        if touched:
            batch.hit(rule, e, user_id=e.user_id, patients=touched,
                      subject=f"canary:{digest(_key(batch.lab_id), touched[0])[:16]}")
