"""Read one batch of patients (and their requests) and keep only the profile's fields.

A record is {"patient": {field: value}, "requests": [{field: value, "specimens": [...]}]}
with empty values left out. Real patients and canaries go through the same
`patient_record` / `request_record`, so a canary has the form of a real row.
Requests are read (and their envelopes unsealed) only when the profile names
a request field. Rows are read through the patients and orders services.
"""

import base64
from datetime import datetime

from django.utils import timezone

from etanche.exports.profiles import PATIENT, REQUEST, SPECIMEN, Profile
from etanche.orders.services import requests_of_patients
from etanche.patients.services import live_envelopes, merged_records
from etanche.vault import services as vault
from etanche.watch.canaries import canaries_among

# Order envelope keys behind request fields (the others are clear operational columns).
_ORDER_SEALED = {"prescriber_name": "prescriber_name", "prescriber_rpps": "prescriber_rpps",
                 "prescription_date": "prescription_date", "clinical_info": "clinical_info",
                 "answers": "answers", "fasting": "fasting", "request_notes": "notes"}


def pseudonym(key: bytes, record_id) -> str:
    """Keyed, per export: the same patient twice in one export, unlinkable across exports."""
    digest = vault.keyed_digest(key, str(record_id).encode())
    return base64.b32encode(digest[:10]).decode().lower()


_EMPTY = (None, "", [], {})


def _empty(value) -> bool:
    return value in _EMPTY


def _iso(moment) -> str | None:
    if moment is None:
        return None
    if isinstance(moment, str):  # a canary's stored moment: same output as a real one
        moment = datetime.fromisoformat(moment)
    return timezone.localtime(moment).isoformat(timespec="seconds")


def _document(env: dict) -> dict:
    return env.get("id_document") or {}


def _birth_year(env: dict) -> int | None:
    birth = (env.get("birth_date") or "")[:4]
    return int(birth) if birth.isdigit() else None


# Patient fields that are not envelope keys as they stand: (env, record id, key) -> value.
_DERIVED = {
    "patient_id": lambda env, rid, key: str(rid),
    "pseudonym": lambda env, rid, key: pseudonym(key, rid) if key else None,
    "birth_year": lambda env, rid, key: _birth_year(env),
    "first_names": lambda env, rid, key: list(env.get("first_names") or []),
    "phones": lambda env, rid, key: list(env.get("phones") or []),
    "id_document_kind": lambda env, rid, key: _document(env).get("kind"),
    "id_document_checked_on": lambda env, rid, key: _document(env).get("checked_on"),
}


def patient_record(profile: Profile, record_id, env: dict, pseudonym_key: bytes | None) -> dict:
    # Only the profile's fields are computed: this runs once per patient of an export.
    out = {}
    for name in profile.at(PATIENT):
        derive = _DERIVED.get(name)
        value = derive(env, record_id, pseudonym_key) if derive else env.get(name)
        if value not in _EMPTY:
            out[name] = value
    return out


def request_record(profile: Profile, order: dict) -> dict:
    """`order`: pk, number, status, urgent, created_at, sealed (dict), tests, specimens."""
    created = order["created_at"]
    if isinstance(created, str):
        created = datetime.fromisoformat(created)
    sealed = order.get("sealed") or {}
    source = {
        "request_id": str(order["pk"]),
        "request_number": order["number"],
        "request_date": _iso(created),
        "request_month": timezone.localtime(created).strftime("%Y-%m"),
        "request_status": order["status"],
        "urgent": bool(order["urgent"]),
        "test_codes": [code for code, _ in order["tests"]],
        "test_labels": [label for _, label in order["tests"]],
        **{field: sealed.get(key) for field, key in _ORDER_SEALED.items()},
    }
    out = {name: source[name] for name in profile.at(REQUEST) if not _empty(source.get(name))}
    wanted = profile.at(SPECIMEN)
    if wanted:
        out["specimens"] = [
            {name: value for name, value in (
                ("specimen_barcode", s["barcode"]), ("specimen_container", s["container"]),
                ("specimen_sampled_at", _iso(s.get("sampled_at"))),
                ("specimen_received_at", _iso(s.get("received_at"))),
            ) if name in wanted and not _empty(value)}
            for s in order["specimens"]
        ]
    return out


def read_batch(lab, profile: Profile, patient_ids: list[int], *, since=None,
               pseudonym_key: bytes | None = None) -> list[dict]:
    """The records of `patient_ids` (same lab), in id order.

    A merged record never appears itself; its requests appear under the record it was
    merged into (a merge keeps them where they were, so that an un-merge can give them
    back). The lab's honeypot patients never appear: an export carries its own canary,
    and a lab canary in a migration would be a fake patient in the next software."""
    honeypots = canaries_among(lab, patient_ids)
    wanted = [pk for pk in patient_ids if pk not in honeypots]
    orders: dict[int, list] = {}
    if profile.reads_requests and wanted:
        merged = merged_records(lab, wanted)
        found = requests_of_patients(
            lab, [*wanted, *merged], since=since,
            sealed=any(profile.has(f) for f in _ORDER_SEALED),
            specimens=bool(profile.at(SPECIMEN)))
        for pk in wanted:
            orders[pk] = list(found.get(pk, []))
        for pk, survivor in merged.items():
            orders[survivor].extend(found.get(pk, []))
        for requests in orders.values():
            requests.sort(key=lambda o: (o["created_at"], o["pk"]))
    return [{"patient": patient_record(profile, pk, env, pseudonym_key),
             "requests": [request_record(profile, o) for o in orders.get(pk, [])]}
            for pk, env in live_envelopes(lab, wanted)]
