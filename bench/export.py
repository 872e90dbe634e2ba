"""export_500k: seconds to produce a `migration` export of N patients, encrypted to a recipient.

Protected path: `exports.services.produce_export` (read in batches, unseal with
the vault, keep the profile's fields, FHIR R4 NDJSON, stream into age, SHA-256,
canary, journal), after a real request and a second person's approval.
Baseline: the same profile, writer and records built from the plaintext twin
table (bench.plain) and written in clear to a file: no unsealing, no age, no
canary, no journal. Peak RSS of the process is reported: the export must run
in bounded memory.
"""

import resource
import tempfile
import time
from datetime import timedelta
from pathlib import Path

NAME = "export_500k"


def _users(lab):
    from etanche.accounts.models import Membership, Role, User

    made = {}
    for username, role in (("bench.requester", Role.LABADMIN), ("bench.approver", Role.DPO)):
        user = User.objects.create(username=username, first_name="Banc", last_name=role,
                                   email=f"{username}@example.invalid")
        Membership.objects.create(user=user, lab=lab, role=role)
        made[role] = user
    return made[Role.LABADMIN], made[Role.DPO]


def _plain_env(row) -> dict:
    env = {k: v for k, v in row.items() if k not in ("id", "lab_id", "created_at") and v != ""}
    env["first_names"] = row["first_names"].split()
    env["phones"] = [p for p in (row["phone"], row["phone2"]) if p]
    return env


def _plain_export(lab, profile_name: str, out: Path) -> tuple[float, int]:
    from bench.plain.models import PlainPatient
    from etanche.exports import profiles
    from etanche.exports.fhir_ndjson import NdjsonWriter
    from etanche.exports.records import patient_record

    profile = profiles.get(profile_name)
    writer = NdjsonWriter(profile)
    started = time.perf_counter()
    rows, last = 0, 0
    query = PlainPatient.objects.filter(lab=lab).order_by("pk").values()
    with out.open("wb") as handle:
        handle.write(writer.header())
        while batch := list(query.filter(pk__gt=last)[:2000]):
            records = [{"patient": patient_record(profile, r["id"], _plain_env(r), None),
                        "requests": []} for r in batch]
            handle.write(writer.records(records))
            rows += len(batch)
            last = batch[-1]["id"]
        handle.write(writer.footer())
    return time.perf_counter() - started, rows


def run(ctx) -> list[dict]:
    import pyrage

    from bench.fill import fill_plain, fill_sealed, make_lab
    from etanche.exports import crypto
    from etanche.exports import services as exports

    n = 20_000 if ctx.quick else 500_000
    lab = make_lab("bench-export")
    fill_s = fill_sealed(lab, n, seed=11)
    fill_plain(lab, n, seed=11)
    requester, approver = _users(lab)
    recipient = str(pyrage.x25519.Identity.generate().to_public())

    export = exports.request_export(
        lab, requester, profile="migration", fmt="ndjson", selection="all",
        recipient=recipient, expires_in=timedelta(days=1), downloads=1,
    )
    exports.approve_export(export, approver, via="cli")
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    export = exports.produce_export(export)
    value = time.perf_counter() - started
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    size = (crypto.exports_dir() / export.file_name).stat().st_size

    with tempfile.TemporaryDirectory() as tmp:
        baseline, plain_rows = _plain_export(lab, "migration", Path(tmp) / "plain.ndjson")
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
