"""import_500k: `etanche import patients` of a CSV from "another software", end to end.

The file: N synthetic people written the way tests/imports/helpers.py writes another
software's export (its own column names, DD/MM/YYYY dates, NIRs with spaces, national
phone numbers, Windows-1252). Measured: the mapping proposal, the check pass (every row
once through patients.intake, sealed and keyed through patients.bulk, in forked workers,
duplicates in the file and in the lab) and the write pass (the checked batches copied in),
from the file on disk to the commit; detail.cpu_s is the CPU it took outside the database.
Full size: N = 500,000 (target <= 60 s on PostgreSQL); --quick: N = 20,000 (BENCH_N
overrides).

Baseline, in the same run: the same file read with the csv module and the same identities
bulk-inserted in clear (bench.plain, the insert strategy of the sealed path).
"""

import csv
import os
import tempfile
import time
from pathlib import Path

from bench import fill

TARGET = "<= 60 s for 500,000 patients on PostgreSQL"


def _cpu() -> float:
    """CPU seconds of this process and of its ended children (the import's forked workers,
    reaped when its pool closes), the database server's aside: on a shared machine the
    wall time says how busy the others were as much as what the import cost."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def run(ctx) -> list[dict]:
    from tests.imports.helpers import other_rows, write_other_csv
    from tests.personas import make_user

    from etanche.accounts.models import Role
    from etanche.imports import services as imports

    n = int(os.environ.get("BENCH_N", "0")) or (20_000 if ctx.quick else 500_000)
    lab = fill.make_lab(expected_patients=n)
    admin = make_user("bench.import", lab, Role.LABADMIN)
    with tempfile.TemporaryDirectory() as tmp:
        path = write_other_csv(Path(tmp) / "ancien.csv", other_rows(n, seed=7))
        size = path.stat().st_size
        started, cpu = time.perf_counter(), _cpu()
        plan = imports.plan(path, "patients")
        report = imports.import_patients(lab, admin, path, plan)
        elapsed, cpu = time.perf_counter() - started, _cpu() - cpu
        base_started = time.perf_counter()
        with open(path, encoding="cp1252", newline="") as handle:
            read = sum(1 for _ in csv.reader(handle, delimiter=";"))
        fill.fill_plain(lab, n, seed=7)  # its own table: the imported rows do not weigh
        baseline = time.perf_counter() - base_started
    return [{
        "name": "import_500k", "value": round(elapsed, 1), "unit": "s",
        "baseline": round(baseline, 1), "ratio": round(elapsed / baseline, 2), "n": n,
        "detail": {"target": TARGET, "rows": report.rows, "imported": report.imported,
                   "rejected": len(report.rejected), "rows_per_s": round(n / elapsed),
                   "file_bytes": size, "baseline_rows_read": read - 1,
                   "cpu_s": round(cpu, 1)},
    }]
