"""breach_scan: rows per second of `breach.scan.scan_file` on a leak-shaped file.

The lab holds N synthetic patients (the demo bulk path); the leak is R rows: patients of the
lab, reshaped the way tests/breach/leaks.py reshapes them (NIR with and without spaces, four
phone writings, two date writings, accents stripped, case changed, columns renamed and
reordered), one foreign person in ten, written as a gzip-compressed CSV. Reported: rows/s of
the whole scan (read, classify, key, look up, confirm, canaries), NIR recognised, patients
found, foreign rows matched. Full size: N = 1,000,000, R = 491,840 (the 2021 leak); --quick:
N = R = 20,000 (BENCH_N, BENCH_ROWS override).

Baseline: the issue names Microsoft Presidio's analyser (French spaCy model) on the first
2,000 rows. It is not installed in this environment (no bench extra carries it yet), so the
baseline is reported as null with that reason rather than measured.
"""

import importlib.util
import os
import random
import tempfile
import time
from pathlib import Path

from bench import fill

TARGET = ">= 8,200 rows/s (491,840 rows in <= 60 s); NIR >= 99.9 %; found >= 99 %; " \
         "foreign matched <= 0.1 %"


def _leak(n_lab: int, rows: int, seed: int, path: Path) -> tuple[set[int], int]:
    """Write the leak; (1-based row numbers of the lab's patients, number of rows)."""
    from tests.breach import leaks

    from etanche.synthetic.people import envelopes

    rng = random.Random(seed)
    ours_wanted = rows - rows // 10
    picked = sorted(rng.sample(range(n_lab), min(ours_wanted, n_lab)))
    ours = []
    wanted = iter(picked)
    target = next(wanted, None)
    for i, env in enumerate(envelopes(n_lab, seed=3)):
        if i == target:
            ours.append(env)
            target = next(wanted, None)
    foreign = list(envelopes(rows - len(ours), seed=90_000 + seed))
    mixed = [(e, True) for e in ours] + [(e, False) for e in foreign]
    rng.shuffle(mixed)
    data = leaks.as_csv(leaks.rows_of([e for e, _ in mixed]))
    path.write_bytes(leaks.gzipped(data))
    return {i + 1 for i, (_, mine) in enumerate(mixed) if mine}, len(mixed)


def run(ctx) -> list[dict]:
    from etanche.breach.scan import scan_file

    n = int(os.environ.get("BENCH_N", "0")) or (20_000 if ctx.quick else 1_000_000)
    rows = int(os.environ.get("BENCH_ROWS", "0")) or (20_000 if ctx.quick else 491_840)
    lab = fill.make_lab(expected_patients=n)
    fill.fill_sealed(lab, n, seed=3)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "leak.csv.gz"
        ours, total = _leak(n, rows, seed=18, path=path)
        started = time.perf_counter()
        public = scan_file(lab, path).public
        elapsed = time.perf_counter() - started
    matched = set(public["matched_rows"])
    nir = next((c["share"] for c in public["columns"] if c["category"] == "nir"), 0.0)
    presidio = importlib.util.find_spec("presidio_analyzer") is not None
    return [{
        "name": "breach_scan", "value": round(total / elapsed), "unit": "rows/s",
        "baseline": None, "ratio": None, "n": n,
        "detail": {
            "target": TARGET, "rows": total, "elapsed_s": round(elapsed, 1),
            "nir_recognised": nir,
            "found": round(len(matched & ours) / len(ours), 4),
            "foreign_matched": round(len(matched - ours) / (total - len(ours)), 5),
            "baseline_note": "Presidio installed but not wired yet" if presidio else
                             "Presidio not installed here: baseline not measured",
        },
    }]
