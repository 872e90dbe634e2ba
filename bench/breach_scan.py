"""breach_scan: rows per second of `breach.scan.scan_file` on a leak-shaped file.

The lab holds N synthetic patients (the demo bulk path); the leak is R rows: patients of the
lab, reshaped the way tests/breach/leaks.py reshapes them (NIR with and without spaces, four
phone writings, two date writings, accents stripped, case changed, columns renamed and
reordered), one foreign person in ten, written as a gzip-compressed CSV. Reported: rows/s of
the whole scan (read, classify, key, look up, confirm, canaries), NIR recognised, patients
found, foreign rows matched. Full size: N = 1,000,000, R = 491,840 (the 2021 leak); --quick:
N = R = 20,000 (BENCH_N, BENCH_ROWS override).

Baseline: the issue names Microsoft Presidio's analyser (French spaCy model
fr_core_news_sm, both in the bench extra) on the first 2,000 rows of the same file, each
row's cells joined as one text: its rows/s, and the share of rows holding a NIR where one
of Presidio's findings covers the NIR cell. Presidio has no lab to match against, so
"found" has no baseline.

Floor, in the same run: the same file read, its columns classified and every row's cells
normalised (`breach.matching.keys_of`) in the same forked workers and batches, without
keying, looking up or unsealing: what reading a leak costs before any of the lab's data is
touched. The scan's distance to the target is to be read against it.
"""

import csv
import gzip
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
    """Write the leak, streamed (one row in memory, whatever its size); (1-based row numbers
    of the lab's patients, number of rows)."""
    from tests.breach import leaks

    from etanche.synthetic.people import envelopes

    rng = random.Random(seed)
    ours_wanted = min(rows - rows // 10, n_lab)
    mine = [True] * ours_wanted + [False] * (rows - ours_wanted)
    rng.shuffle(mine)
    picked = set(rng.sample(range(n_lab), ours_wanted))
    ours = (env for i, env in enumerate(envelopes(n_lab, seed=3)) if i in picked)
    foreign = envelopes(rows - ours_wanted, seed=90_000 + seed)
    with gzip.open(path, "wt", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, delimiter=";")
        writer.writerow(leaks.HEADER)
        for i, is_ours in enumerate(mine):
            writer.writerow(leaks.reshaped(next(ours if is_ours else foreign), i))
    return {i + 1 for i, is_ours in enumerate(mine) if is_ours}, len(mine)


PRESIDIO_ROWS = 2_000


def _normalise_batch(task) -> tuple[int, int]:
    from etanche.breach.matching import keys_of

    columns, cells = task
    return len(cells), sum(keys_of(columns, row).identifying() for row in cells)


def _reading_floor(path: Path) -> dict:
    """Rows/s of read + classify + normalise alone, as the scan batches and forks them."""
    from etanche.breach import reading, scan
    from etanche.lib.forked import fork_workers, ordered_map
    from etanche.tabular import classify

    started = time.perf_counter()
    rows = identified = 0
    for section in reading.sections(path):
        sample = [cells for _, (_, cells) in zip(range(scan.SAMPLE), section.rows,
                                                  strict=False)]
        columns = classify.classify(section.header, iter(sample))

        def tasks(columns=columns, sample=sample, section=section):
            batch = list(sample)
            for _, cells in section.rows:
                batch.append(cells)
                if len(batch) >= scan.BATCH:
                    yield columns, batch
                    batch = []
            if batch:
                yield columns, batch

        workers = fork_workers(None, len(sample), scan.PARALLEL_MIN)
        for batch_rows, batch_identified in ordered_map(_normalise_batch, tasks(), workers):
            rows += batch_rows
            identified += batch_identified
    elapsed = time.perf_counter() - started
    # `identified` (rows with a NIR, a contact or a name and date) shows the floor did
    # normalise the rows: a wrong classification would leave nothing to normalise.
    return {"rows": rows, "identified": identified, "elapsed_s": round(elapsed, 1),
            "rows_per_s": round(rows / elapsed)}


def _presidio(path: Path, nir_column: int | None) -> dict:
    """Presidio's analyser on the first rows of the leak: rows/s and NIR rows recognised."""
    if importlib.util.find_spec("presidio_analyzer") is None:
        return {"note": "Presidio not installed (pip install the bench extra)"}
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    provider = NlpEngineProvider(nlp_configuration={
        "nlp_engine_name": "spacy", "models": [{"lang_code": "fr",
                                                "model_name": "fr_core_news_sm"}]})
    analyzer = AnalyzerEngine(nlp_engine=provider.create_engine(), supported_languages=["fr"])
    with gzip.open(path, "rt", encoding="utf-8-sig", newline="") as text:
        reader = csv.reader(text, delimiter=";")  # as _leak writes it
        next(reader, None)  # the header
        rows = [row for _, row in zip(range(PRESIDIO_ROWS), reader, strict=False)]
    analyzer.analyze(text="Marie Dupont, 06 12 34 56 78", language="fr")  # load the model
    with_nir = recognised = 0
    started = time.perf_counter()
    for row in rows:
        line = " ; ".join(row)
        found = analyzer.analyze(text=line, language="fr")
        if nir_column is None or nir_column >= len(row) or not row[nir_column].strip():
            continue
        with_nir += 1
        start = len(" ; ".join(row[:nir_column])) + (3 if nir_column else 0)
        end = start + len(row[nir_column])
        recognised += any(r.start < end and r.end > start for r in found)
    elapsed = time.perf_counter() - started
    return {"rows": len(rows), "rows_per_s": round(len(rows) / elapsed, 1),
            "nir_rows": with_nir,
            "nir_recognised": round(recognised / with_nir, 4) if with_nir else None,
            "entities": "PERSON, LOCATION, EMAIL_ADDRESS, PHONE_NUMBER, DATE_TIME... "
                        "(Presidio's defaults for French)"}


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
        nir_column = next((c["index"] for c in public["columns"] if c["category"] == "nir"),
                          None)
        presidio = _presidio(path, nir_column)
        floor = _reading_floor(path)
    matched = set(public["matched_rows"])
    nir = next((c["share"] for c in public["columns"] if c["category"] == "nir"), 0.0)
    value = total / elapsed
    baseline = presidio.get("rows_per_s")
    return [{
        "name": "breach_scan", "value": round(value), "unit": "rows/s",
        "baseline": baseline, "ratio": round(baseline / value, 4) if baseline else None,
        "n": n,
        "detail": {
            "target": TARGET, "rows": total, "elapsed_s": round(elapsed, 1),
            "nir_recognised": nir,
            "found": round(len(matched & ours) / len(ours), 4),
            "foreign_matched": round(len(matched - ours) / (total - len(ours)), 5),
            "presidio": presidio,
            "reading_floor": floor,
            "scan_over_floor": round(floor["rows_per_s"] / value, 2),
        },
    }]
