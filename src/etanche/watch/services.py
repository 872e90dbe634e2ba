"""Canaries: issue one per export (or per lab), find them again from a leaked row.

    from etanche.watch import services as watch
    canary = watch.issue_canary_for_export(export)   # idempotent per export
    watch.canary_record(canary)                      # {"identity": env, "requests": [...]}
    watch.find_canaries(lab, {"nir": [1234], "email": [77]})   # candidates by blind index
    watch.trace(lab, nir="1840...", ...)             # exact matches -> [Canary]

A canary is shaped field by field after a random sample of the lab's own rows
(synthetic/canary.py: shared values copied, a donor's own values never, identifiers
made anew in the donors' forms and checked free among the lab's patients), so that
the forms of its fields do not single it out of a leaked file (docs/exports.md).
A lab with no patient yet gets a demo identity (synthetic.one_envelope). Its
requests' numbers are not taken from the lab's counter (orders.services.canary_number:
a skipped number, or one the counter then skips), so no real request carries them
and none is used up.
"""

import random
import secrets
from datetime import timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from etanche.lib.lookups import AnyOf
from etanche.orders.services import (
    barcode_for,
    canary_number,
    requests_of_patients,
    specimens_for,
)
from etanche.patients import indexing
from etanche.patients.services import identifiers_in_use, live_envelopes, sample_live_ids
from etanche.synthetic.canary import canary_envelope, canary_request
from etanche.synthetic.people import one_envelope
from etanche.synthetic.requests import enabled_panels
from etanche.vault.models import new_record_id
from etanche.watch.models import CANARY_INDEXES, Canary


def _request(lab, env: dict, since=None) -> list[dict]:
    panels = enabled_panels(lab)
    if not panels:
        return []
    panel = panels[secrets.randbelow(len(panels))]
    now = timezone.now()
    start = max(since, now - timedelta(days=30)) if since else now - timedelta(days=30)
    span = max(1, int((now - start).total_seconds()))
    created = start + timedelta(seconds=secrets.randbelow(span))
    # Not from the lab's counter: a canary uses up no real request number (issue 24.3).
    number = canary_number(lab, created)
    sampled = created + timedelta(seconds=secrets.randbelow(40 * 60) + 120)
    received = sampled + timedelta(seconds=secrets.randbelow(150 * 60) + 20 * 60)
    specimens = [{"barcode": barcode_for(number, rank), "container": container,
                  "sampled_at": sampled.isoformat(), "received_at": received.isoformat()}
                 for rank, container in enumerate(specimens_for(panel), start=1)]
    return [{
        "pk": new_record_id(), "number": number, "status": "received", "urgent": False,
        "created_at": created.isoformat(),
        "sealed": {"prescriber_name": env["physician_name"],
                   "prescriber_rpps": env["physician_rpps"],
                   "prescription_date": timezone.localdate(created).isoformat(),
                   "clinical_info": "", "answers": {}, "fasting": None, "notes": "",
                   "cancel_reason": "", "reject_comment": ""},
        "tests": [(t.code, t.label) for t in panel], "specimens": specimens,
    }]


def _indexes(lab, env: dict) -> dict:
    columns, sides = indexing.compute(lab, [env])
    phones = [value for name, value in sides[0] if name == "phone"]
    values = {name: columns[0].get(name) for name in CANARY_INDEXES if name != "phone"}
    values["phone"] = phones[0] if phones else None
    return {f"{name}_index": value for name, value in values.items()}


DONORS = 200  # rows the canary is shaped after: enough for the lab's shared values


def _iso(moment):
    return moment.isoformat() if moment is not None else None


def _shaped_requests(lab, rng, ids, orders, since) -> list[dict]:
    pool = [order for found in orders.values() for order in found]
    if not pool:
        return []
    now = timezone.now()
    out = []
    # As many requests as a random donor has: most patients of an export have one or two.
    for _ in range(min(3, len(orders.get(rng.choice(ids), [])))):
        shape = canary_request(pool, pool, rng)
        created = min(shape["created_at"], now - timedelta(minutes=1))
        if since is not None:
            created = max(created, since)
        lag = created - shape["created_at"]
        number = canary_number(lab, created)
        specimens = [{"barcode": barcode_for(number, rank), "container": tube["container"],
                      "sampled_at": _iso(tube["sampled_at"] and tube["sampled_at"] + lag),
                      "received_at": _iso(tube["received_at"] and tube["received_at"] + lag)}
                     for rank, tube in enumerate(shape["specimens"], start=1)]
        out.append({"pk": new_record_id(), "number": number, "status": shape["status"],
                    "urgent": shape["urgent"], "created_at": created.isoformat(),
                    "sealed": shape["sealed"], "tests": shape["tests"], "specimens": specimens})
    return out


def _identity_and_requests(lab, since=None, among=None) -> tuple[dict, list[dict]]:
    """Shaped after a random sample of the lab's rows (of `among`, an export's list, when
    given). Unsealed here without a journal entry: nothing of theirs is shown or kept but
    values that two of them share (synthetic/canary.py)."""
    rng = random.SystemRandom()
    ids = rng.sample(list(among), min(len(among), DONORS)) if among else sample_live_ids(
        lab, DONORS)
    rows = [env for _, env in live_envelopes(lab, ids)]
    if not rows:
        env = one_envelope()
        return env, _request(lab, env, since)

    def taken(env):
        return identifiers_in_use(lab, ins=env["ins"], email=env["email"], phones=env["phones"])

    env = canary_envelope(rows, taken=taken, rng=rng)
    orders = requests_of_patients(lab, ids, since=since, sealed=True, specimens=True)
    return env, _shaped_requests(lab, rng, ids, orders, since)


def _create(lab, kind: str, export_id=None, *, since=None, marker_for=None,
            among=None) -> Canary:
    env, requests = _identity_and_requests(lab, since, among)
    canary = Canary(lab_id=getattr(lab, "pk", lab), kind=kind, export_id=export_id,
                    request_number=requests[0]["number"] if requests else "",
                    **_indexes(lab, env))
    if marker_for is not None:
        canary.marker = marker_for(canary.pk)
    canary.set_sealed({"identity": env, "requests": requests})
    canary.save(force_insert=True)
    return canary


def issue_canary_for_export(export, *, marker_for=None, among=None) -> Canary:
    """The export's canary, created once (a retried production reuses it).

    `marker_for(canary_id)` gives the value a pseudonymised export shows in
    place of identity (its pseudonym), kept in clear to find it again. `among`:
    the ids of a list export, whose rows the canary is shaped after.
    """
    with transaction.atomic():
        found = Canary.objects.for_lab(export.lab_id).filter(export_id=export.pk).first()
        if found:
            return found
        return _create(export.lab, Canary.EXPORT, export.pk, since=export.since_datetime,
                       marker_for=marker_for, among=among)


def issue_lab_canary(lab) -> Canary:
    """A canary of the lab itself (for seeding the database, not tied to an export)."""
    with transaction.atomic():
        return _create(lab, Canary.LAB)


def canary_record(canary: Canary) -> dict:
    return canary.get_sealed()


def find_canaries(lab, index_values: dict) -> list[Canary]:
    """Candidates: canaries of `lab` sharing any blind-index value (truncated, sized per lab:
    expect some false candidates; `trace` confirms exactly). `index_values`: {name: [ints]}."""
    query = Q()
    for name, values in index_values.items():
        if name not in CANARY_INDEXES:
            raise ValueError(f"canaries are not indexed by {name!r}")
        values = [v for v in values if v is not None]
        if values:
            query |= Q(AnyOf(F(f"{name}_index"), values))
    if not query:
        return []
    return list(Canary.objects.for_lab(lab).filter(query).order_by("pk"))


def trace(lab, *, nir: str = "", email: str = "", birth_name: str = "", birth_date: str = "",
          pseudonym: str = "", request_number: str = "") -> list[Canary]:
    """Canaries that exactly match what a leaked row shows (any one criterion suffices)."""
    found = {}
    rows = Canary.objects.for_lab(lab)
    if pseudonym:
        found |= {c.pk: c for c in rows.filter(marker=pseudonym.strip().lower())}
    if request_number:
        found |= {c.pk: c for c in rows.filter(request_number=request_number.strip())}
    probe = {"ins": nir.strip(), "ins_oid": "x", "email": email, "birth_name": birth_name,
             "birth_date": birth_date, "first_names": [], "used_name": ""}
    inputs = indexing.column_inputs(probe)
    wanted = {name: [indexing.lookup(lab, name, inputs[name])]
              for name in ("nir", "birth_name_dob", "email") if inputs[name]}
    for canary in find_canaries(lab, wanted):
        env = canary.get_sealed()["identity"]
        if ((nir and env["ins"] == nir.strip())
                or (email and env["email"].lower() == email.strip().lower())
                or (birth_name and birth_date and env["birth_date"] == birth_date
                    and indexing.name_search_key(env["birth_name"])
                    == indexing.name_search_key(birth_name))):
            found[canary.pk] = canary
    return sorted(found.values(), key=lambda c: c.pk)
