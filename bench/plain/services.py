"""The plaintext baseline's work: the same checks and queries as the product, in clear.

Each function mirrors one product path step for step, minus the protection:
no envelope sealed or opened, no blind index, no journal entry. Input checks
(intake.clean, the order checks), duplicate detection, numbering, tests and
specimens stay, so the ratio measures protection and nothing else.
"""

import zlib

from django.core.paginator import Paginator
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from bench.plain.models import PlainOrder, PlainOrderTest, PlainPatient, PlainSpecimen
from etanche.orders import services as orders
from etanche.patients import bulk, indexing, intake, nir, validators
from etanche.patients.search import PAGE_SIZE, SearchPage, _criteria, summary_of
from etanche.patients.services import LOCK_RANK_SHIFT

ROW_FIELDS = [
    "birth_name", "birth_name_key", "first_names", "used_name", "used_name_key",
    "used_first_name", "birth_date", "sex", "birthplace_code", "birthplace_label", "ins",
    "ins_oid", "identity_status", "phonetic_dob", "street", "postal_code", "city", "phone",
    "phone2", "email", "amo_regime", "amo_fund", "amo_centre", "amc_insurer", "amc_contract",
    "physician_name", "physician_rpps", "blood_group", "notes",
]  # fmt: skip


def row_of(env: dict) -> dict:
    """A PlainPatient's columns from a checked envelope, with the same normalised keys."""
    phones = list(env.get("phones") or [])
    first = (env.get("first_names") or [""])[0]
    row = {key: env.get(key) or "" for key in ROW_FIELDS if key in env}
    row.update(
        first_names=" ".join(env["first_names"]),
        birth_name_key=indexing.name_search_key(env["birth_name"]),
        used_name_key=indexing.name_search_key(env.get("used_name") or ""),
        phonetic_dob=indexing.phonetic_dob(env["birth_name"], first, env["birth_date"]) or "",
        phone=phones[0] if phones else "",
        phone2=phones[1] if len(phones) > 1 else "",
    )
    return row


def env_of(patient: PlainPatient) -> dict:
    return {
        "birth_name": patient.birth_name, "used_name": patient.used_name,
        "first_names": patient.first_names.split(), "used_first_name": patient.used_first_name,
        "birth_date": patient.birth_date, "sex": patient.sex,
        "identity_status": patient.identity_status, "ins": patient.ins,
    }


# --- bulk insert (the baseline of demo_generate) --------------------------------------------

COLUMNS = ["lab_id", "created_at", *ROW_FIELDS]


def bulk_insert(lab_id: int, envelopes: list[dict]) -> None:
    """The sealed path's own insert (patients/bulk.py: binary COPY on PostgreSQL, bulk_create
    on SQLite), so the two differ by what they write, not how."""
    now = timezone.now()
    rows = []
    for env in envelopes:
        row = row_of(env)
        rows.append((lab_id, now, *(row[c] for c in ROW_FIELDS)))
    with transaction.atomic():
        bulk.write_rows(PlainPatient, COLUMNS, rows)


# --- register -------------------------------------------------------------------------------


def duplicates(lab, env: dict) -> list[int]:
    row = row_of(env)
    query = Q(birth_name_key=row["birth_name_key"], birth_date=row["birth_date"])
    if row["ins"]:
        query |= Q(ins=row["ins"])
    if row["phonetic_dob"]:
        query |= Q(phonetic_dob=row["phonetic_dob"])
    return list(PlainPatient.objects.filter(lab=lab).filter(query).values_list("pk", flat=True))


def _lock_identity(lab, row: dict) -> None:
    """What patients.services._lock_identity does, keyed by the plain values.

    A plaintext product must serialise the duplicate check and the insert of possibly
    the same person too (else one registration sent twice at once is created twice),
    so the baseline pays for the same advisory locks; only the keys differ (a hash of
    the value instead of its blind index).
    """
    if connection.vendor != "postgresql":
        return  # SQLite runs one writer at a time
    values = {1: row["ins"], 2: f"{row['birth_name_key']}|{row['birth_date']}",
              3: row["phonetic_dob"]}
    keys = sorted(rank << LOCK_RANK_SHIFT | (zlib.crc32(value.encode()) & (1 << 26) - 1)
                  for rank, value in values.items() if value)
    calls = ", ".join(["pg_advisory_xact_lock(%s, %s)"] * len(keys))
    with connection.cursor() as cursor:
        # A lock space of its own (-lab id): never waits for the product's locks.
        cursor.execute(f"SELECT {calls}", [v for key in keys for v in (-lab.pk, key)])  # noqa: S608


def register(lab, data: dict, *, not_duplicate: bool) -> tuple[int | None, list[int]]:
    cleaned = intake.clean(data)
    row = row_of(cleaned.envelope)
    with transaction.atomic():
        _lock_identity(lab, row)
        if not not_duplicate:
            found = duplicates(lab, cleaned.envelope)
            if found:
                return None, found
        patient = PlainPatient.objects.create(lab=lab, created_at=timezone.now(), **row)
    return patient.pk, []


# --- request --------------------------------------------------------------------------------


@transaction.atomic
def create_order(lab, user, patient, *, tests, prescriber_name, prescription_date,
                 prescriber_rpps="", urgent=False, clinical_info="", answers=None,
                 notes="") -> PlainOrder:
    chosen = orders._check_tests(lab, tests)
    prescription = orders._check_prescription(prescriber_name, prescriber_rpps,
                                              prescription_date)
    clean_answers = orders._clean_answers(chosen, answers or {})
    now = timezone.now()
    order = PlainOrder(
        lab=lab, patient=patient, number=orders.next_number(lab, timezone.localdate().year),
        urgent=bool(urgent), created_at=now, created_by=user, answers=clean_answers,
        clinical_info=orders._clean_text(clinical_info, "Le renseignement clinique"),
        notes=orders._clean_text(notes, "La note"), **prescription)
    rows = [PlainOrderTest(order=order, code=t.code, label=t.label, specimen=t.specimen)
            for t in chosen]
    tubes = [PlainSpecimen(order=order, barcode=orders.barcode_for(order.number, rank),
                           container=c)
             for rank, c in enumerate(orders.specimens_for(chosen), start=1)]
    # The same ORM writes as the product's request entry (orders.services.create_order).
    order.save(force_insert=True)
    PlainOrderTest.objects.bulk_create(rows)
    PlainSpecimen.objects.bulk_create(tubes)
    return order


# --- search ---------------------------------------------------------------------------------


def _match_first(patient, first_key: str) -> bool:
    firsts = [*patient.first_names.split(), patient.used_first_name]
    return first_key in {indexing.name_search_key(f) for f in firsts if f}


def search(lab, *, nir_value=None, name=None, first_name=None, birth_date=None, phone=None,
           page=1) -> SearchPage:
    _criteria(nir_value, name, first_name, birth_date, phone)
    rows = PlainPatient.objects.filter(lab=lab)
    phonetic = False
    if nir_value:
        found = list(rows.filter(ins=nir.parse_nir(nir_value).number))
    elif phone:
        number = validators.normalize_phone(phone)
        found = list(rows.filter(Q(phone=number) | Q(phone2=number)))
    else:
        key = indexing.name_search_key(name)
        first_key = indexing.name_search_key(first_name or "")
        day = validators.parse_date(birth_date, what="La date de naissance").isoformat() \
            if birth_date else ""
        where = Q(birth_name_key=key) | Q(used_name_key=key)
        if day:
            where = Q(birth_name_key=key, birth_date=day) | Q(used_name_key=key, birth_date=day)
        found = [p for p in rows.filter(where) if not first_key or _match_first(p, first_key)]
        if not found and first_key and day:
            phonetic = True
            sound = indexing.phonetic_dob(name, first_name, day)
            found = list(rows.filter(phonetic_dob=sound))
    results = sorted((summary_of(p.pk, env_of(p)) for p in found), key=lambda s: s.sort_key)
    paginator = Paginator(results, PAGE_SIZE)
    current = paginator.get_page(page)
    return SearchPage(list(current.object_list), current.number, paginator.num_pages,
                      len(results), phonetic)
