"""export_500k: seconds to produce a `migration` export of N patients, encrypted to a recipient.

Protected path: `exports.services.produce_export` (read in batches, unseal with
the vault, keep the profile's fields, FHIR R4 NDJSON, stream into age, SHA-256,
canary, journal), after a real request and a second person's approval.
Baseline: the same profile, writer, records, batches and forked workers, from
the plaintext twin table (bench.plain), written in clear to a file: no
unsealing, no age, no canary, no journal (before 2026-12-01 the baseline ran in
one process, which made the ratio of earlier runs look better than it was).
Peak RSS of the process is reported: the export must run in bounded memory.
"""

import os
import resource
import tempfile
import time
from datetime import timedelta
from pathlib import Path

NAME = "export_500k"


def _users(lab):
    """The requester and two approvers (an export over ETANCHE_EXPORT_SECOND_APPROVER_OVER
    patients needs two), accounts old enough for the four-eyes rule."""
    from django.utils import timezone

    from etanche.accounts.models import Membership, Role, User

    made = []
    joined = timezone.now() - timedelta(days=60)
    for username, role in (("bench.requester", Role.LABADMIN), ("bench.approver", Role.DPO),
                           ("bench.approver2", Role.BIOLOGIST)):
        user = User.objects.create(username=username, first_name="Banc", last_name=role,
                                   email=f"{username}@example.invalid", date_joined=joined)
        Membership.objects.create(user=user, lab=lab, role=role)
        made.append(user)
    return made[0], made[1:]


def _plain_env(row) -> dict:
    env = {k: v for k, v in row.items() if k not in ("id", "lab_id", "created_at") and v != ""}
    env["first_names"] = row["first_names"].split()
    env["phones"] = [p for p in (row["phone"], row["phone2"]) if p]
    return env


def _plain_batch(task) -> bytes:
    """One batch of the baseline, in a forked worker as the protected path's batches are."""
    from bench.plain.models import PlainPatient
    from etanche.exports import profiles
    from etanche.exports.fhir_ndjson import NdjsonWriter
    from etanche.exports.records import patient_record

    lab_id, profile_name, ids = task
    profile = profiles.get(profile_name)
    rows = PlainPatient.objects.filter(lab_id=lab_id, pk__in=ids).order_by("pk").values()
    return NdjsonWriter(profile).records([
        {"patient": patient_record(profile, r["id"], _plain_env(r), None), "requests": []}
        for r in rows])


def _plain_tasks(lab, profile_name: str, counter: dict):
    from bench.plain.models import PlainPatient
    from etanche.exports.production import BATCH

    query, last = PlainPatient.objects.filter(lab=lab).order_by("pk"), 0
    while ids := list(query.filter(pk__gt=last).values_list("pk", flat=True)[:BATCH]):
        counter["rows"] += len(ids)
        last = ids[-1]
        yield (lab.pk, profile_name, ids)


def _plain_export(lab, profile_name: str, out: Path, n: int) -> tuple[float, int]:
    """The same batches, worker count, records and writer as the protected path, from the
    plaintext twin, written in clear: what is left is the cost of protection."""
    from etanche.exports import parallel, profiles
    from etanche.lib.forked import ordered_map

    writer = parallel.writer_for("ndjson", profiles.get(profile_name))
    counter = {"rows": 0}
    started = time.perf_counter()
    workers = parallel.workers_for(n)
    with out.open("wb") as handle:
        handle.write(writer.header())
        for data in ordered_map(_plain_batch, _plain_tasks(lab, profile_name, counter), workers):
            handle.write(data)
        handle.write(writer.footer())
    return time.perf_counter() - started, counter["rows"]


def run(ctx) -> list[dict]:
    import pyrage

    from bench import profile
    from bench.fill import fill_plain, fill_sealed, make_lab
    from etanche.exports import crypto
    from etanche.exports import services as exports

    n = int(os.environ.get("BENCH_N", "0")) or (20_000 if ctx.quick else 500_000)
    lab = make_lab("bench-export")
    fill_s = fill_sealed(lab, n, seed=11)
    fill_plain(lab, n, seed=11)
    requester, approvers = _users(lab)
    recipient = str(pyrage.x25519.Identity.generate().to_public())

    export = exports.request_export(
        lab, requester, profile="migration", fmt="ndjson", selection="all",
        recipient=recipient, expires_in=timedelta(days=1), downloads=1,
    )
    for approver in approvers:
        if export.status == "requested":
            export = exports.approve_export(export, approver, via="cli", queue=False)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with profile.sampling(os.getpid(), "export-sealed"):
        started = time.perf_counter()
        export = exports.produce_export(export)
        value = time.perf_counter() - started
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    size = (crypto.exports_dir() / export.file_name).stat().st_size

    with tempfile.TemporaryDirectory() as tmp, profile.sampling(os.getpid(), "export-plain"):
        baseline, plain_rows = _plain_export(lab, "migration", Path(tmp) / "plain.ndjson", n)
        plain_size = (Path(tmp) / "plain.ndjson").stat().st_size
    return [{
        "name": NAME,
        "value": round(value, 2),
        "unit": "s",
        "baseline": round(baseline, 2),
        "ratio": round(value / baseline, 2),
        "n": n,
        "detail": {
            "rows_with_canary": export.rows,
            "plain_rows": plain_rows,
            "encrypted_bytes": size,
            "plain_bytes": plain_size,
            "peak_rss_mb_before": round(rss_before / 1024),
            "peak_rss_mb_after": round(rss_after / 1024),
            "patients_per_s": round(n / value),
            "fill_sealed_s": round(fill_s, 1),
            "profile": "migration",
            "format": "ndjson",
            "target": "<= 30 s for 500,000",
        },
    }]
