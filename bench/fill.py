"""Fill a lab with synthetic patients on both paths: sealed (the demo bulk path) and plaintext."""

import contextlib
import time

BENCH_FINESS = "990000002"  # fictitious: department 99 holds no establishment


def make_lab(slug: str = "bench", expected_patients: int | None = None):
    """The bench lab, its blind indexes sized for the population it will hold (docs/security.md)."""
    from etanche.ops.labs import create_lab
    from etanche.orders import catalogue
    from etanche.vault import indexes

    expected = None
    if expected_patients:
        expected = min(max(expected_patients, indexes.MIN_EXPECTED), indexes.MAX_EXPECTED)
    lab = create_lab(slug, "Laboratoire de banc d'essai", BENCH_FINESS, expected_patients=expected)
    catalogue.ensure_seeded(lab)
    return lab


def envelopes(n: int, seed: int, sample_every: int = 0, sample: list | None = None):
    """Envelopes of n synthetic identities; every `sample_every`-th identity is kept aside."""
    from etanche.synthetic.people import envelope_of, iter_identities

    for i, identity in enumerate(iter_identities(n, seed)):
        if sample_every and sample is not None and i % sample_every == 0:
            sample.append(identity)
        yield envelope_of(identity)


def fill_sealed(lab, n: int, seed: int, *, sample_every=0, sample=None) -> float:
    """The demo bulk path (patients.bulk.bulk_register); returns seconds."""
    from etanche.patients.bulk import bulk_register
    from etanche.synthetic.people import envelope_of, iter_identities

    def identities():
        for i, identity in enumerate(iter_identities(n, seed)):
            if sample_every and sample is not None and i % sample_every == 0:
                sample.append(identity)
            yield envelope_of(identity)

    started = time.perf_counter()
    bulk_register(lab, identities(), source="demo")
    return time.perf_counter() - started


def fill_plain(lab, n: int, seed: int, batch: int = 5000) -> float:
    """The same identities, in clear, with the same insert strategy; returns seconds."""
    from bench.plain.services import bulk_insert

    started = time.perf_counter()
    pending = []
    for env in envelopes(n, seed):
        pending.append(env)
        if len(pending) == batch:
            bulk_insert(lab.pk, pending)
            pending = []
    if pending:
        bulk_insert(lab.pk, pending)
    _analyze_plain()
    return time.perf_counter() - started


def _analyze_plain() -> None:
    # The sealed path refreshes planner statistics after its bulk load; so must the baseline.
    from django.db import connection

    from bench.plain.models import PlainPatient

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {PlainPatient._meta.db_table}")


def settle() -> None:
    """After the bulk loads and before a measurement: vacuum and analyse (what autovacuum
    does to a table that took many inserts) and checkpoint (the loads' dirty pages written
    now), so that neither lands in a measured window. A search run right after a million
    rows had been loaded saw 22 of its first 60 queries at 60-90 ms while the checkpointer and
    the kernel's writeback flushed them (bench/RESULTS.md, Run 19)."""
    from django.db import DatabaseError, connection

    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.execute("ANALYZE")
            return
        cursor.execute("VACUUM ANALYZE")
        with contextlib.suppress(DatabaseError):  # needs a superuser or pg_checkpoint
            cursor.execute("CHECKPOINT")


def patient_form(identity) -> dict:
    """What a front-office agent types in the registration form for this person."""
    data = {
        "birth_name": identity.birth_name,
        "first_names": " ".join(identity.first_names),
        "birth_date": identity.birth_date.isoformat(),
        "sex": identity.sex,
        "birthplace_code": identity.birthplace_code,
        "nir": identity.ins,
        "phone": identity.phone,
        "email": identity.email,
        "street": identity.street,
        "postal_code": identity.postal_code,
        "city": identity.city,
        "amo_regime": identity.amo_regime,
        "amo_fund": identity.amo_fund,
        "amo_centre": identity.amo_centre,
        "amc_insurer": identity.amc_insurer,
        "amc_contract": identity.amc_contract,
        "physician_name": identity.physician_name,
    }
    if identity.used_name != identity.birth_name:
        data["used_name"] = identity.used_name
    return data
