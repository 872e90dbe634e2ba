"""Read one batch of patients (and their requests) and keep only the profile's fields.

A record is {"patient": {field: value}, "requests": [{field: value, "specimens": [...]}]}
with empty values left out. Real patients and canaries go through the same
`patient_record` / `request_record`, so a canary has the form of a real row.
Requests are read (and their envelopes unsealed) only when the profile names
a request field, and only the sealed keys it names.
"""

import base64
from datetime import datetime

from django.utils import timezone

from etanche.exports.profiles import PATIENT, REQUEST, SPECIMEN, Profile
from etanche.orders.models import Order, OrderTest, Specimen
from etanche.patients.models import Patient
from etanche.vault import services as vault

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


def patient_record(profile: Profile, record_id, env: dict, pseudonym_key: bytes | None) -> dict:
    doc = env.get("id_document") or {}
    birth = env.get("birth_date") or ""
    source = {
        **env,
        "patient_id": str(record_id),
        "pseudonym": pseudonym(pseudonym_key, record_id) if pseudonym_key else None,
        "birth_year": int(birth[:4]) if birth[:4].isdigit() else None,
        "first_names": list(env.get("first_names") or []),
        "phones": list(env.get("phones") or []),
        "id_document_kind": doc.get("kind"),
        "id_document_checked_on": doc.get("checked_on"),
    }
    out = {}
    for name in profile.at(PATIENT):
        value = source.get(name)
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


def _orders_of(lab, profile: Profile, patient_ids: list[int], since) -> dict[int, list[dict]]:
    rows = Order.objects.for_lab(lab).filter(patient_id__in=patient_ids)
    if since is not None:
        rows = rows.filter(created_at__gte=since)
    rows = list(rows.order_by("created_at", "pk").values_list(
        "pk", "patient_id", "number", "status", "urgent", "created_at", "sealed"))
    ids = [r[0] for r in rows]
    tests: dict[int, list] = {}
    for order_id, code, label in (OrderTest.objects.for_lab(lab).filter(order_id__in=ids)
                                  .order_by("code").values_list("order_id", "code", "label")):
        tests.setdefault(order_id, []).append((code, label))
    specimens: dict[int, list] = {}
    if profile.at(SPECIMEN):
        for order_id, *values in (Specimen.objects.for_lab(lab).filter(order_id__in=ids)
                                  .order_by("barcode").values_list(
                                      "order_id", "barcode", "container", "sampled_at",
                                      "received_at")):
            specimens.setdefault(order_id, []).append(
                dict(zip(("barcode", "container", "sampled_at", "received_at"), values,
                         strict=True)))
    unseal = any(profile.has(f) for f in _ORDER_SEALED)
    found: dict[int, list[dict]] = {}
    for pk, patient_id, number, status, urgent, created_at, token in rows:
        sealed = {}
        if unseal:
            token = bytes(token)
            sealed = vault.unseal(lab, Order.record_type(), pk, token,
                                  vault.token_schema_version(token))
        found.setdefault(patient_id, []).append({
            "pk": pk, "number": number, "status": status, "urgent": urgent,
            "created_at": created_at, "sealed": sealed, "tests": tests.get(pk, []),
            "specimens": specimens.get(pk, []),
        })
    return found


def read_batch(lab, profile: Profile, patient_ids: list[int], *, since=None,
               pseudonym_key: bytes | None = None) -> list[dict]:
    """The records of `patient_ids` (same lab), in id order; merged records never appear."""
    rows = (Patient.objects.for_lab(lab).live().filter(pk__in=patient_ids).order_by("pk")
            .values_list("pk", "sealed"))
    orders = _orders_of(lab, profile, list(patient_ids), since) if profile.reads_requests else {}
    record_type = Patient.record_type()
    out = []
    for pk, token in rows:
        token = bytes(token)
        env = vault.unseal(lab, record_type, pk, token, vault.token_schema_version(token))
        out.append({"patient": patient_record(profile, pk, env, pseudonym_key),
                    "requests": [request_record(profile, o) for o in orders.get(pk, [])]})
    return out
