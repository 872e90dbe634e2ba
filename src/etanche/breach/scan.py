"""Scan a leaked file: what it holds, whose data it is, where it came from, how severe.

`scan_file(lab, source)` streams the file (breach/reading.py), classifies each table's columns
from its first SAMPLE rows (tabular/classify.py), then reads every row once, in batches of
BATCH: keys normalised, keyed in bulk, looked up in the lab's blind indexes, candidates
confirmed by unsealing only them (breach/matching.py), canaries looked for
(breach/attribution.py). Memory holds one sample and one batch, plus the matched row numbers
and patient ids (integers).

The result splits in two: `public` (counts, row numbers, column categories, canaries with their
export, severity: what the CLI prints and a journal may count) and `private` (which patient
each matched row is, with evidence and confidence), which only a sealed BreachScan keeps.
"""

from collections import Counter
from dataclasses import dataclass, field

from etanche.breach import attribution, reading, severity
from etanche.breach.matching import keyed_lookups, keys_of, match_batch
from etanche.lib.forked import fork_workers, ordered_map
from etanche.tabular import classify, errors

SAMPLE = classify.SAMPLE_ROWS
BATCH = 1000
# Forking costs a few hundred ms: a section whose sample did not fill stays in one process.
PARALLEL_MIN = SAMPLE


@dataclass
class ScanResult:
    public: dict
    private: dict = field(default_factory=dict)

    @property
    def patient_ids(self) -> list[int]:
        return self.private["patient_ids"]


class _Totals:
    def __init__(self, lab):
        self.lab = lab
        self.rows = 0
        self.categories: Counter = Counter()
        self.evidence: Counter = Counter()
        self.confidence: Counter = Counter()
        self.matched_rows: list[int] = []
        # row -> (patient id, confidence, evidence): tuples of atoms, which the collector
        # stops tracking, so half a million matches do not slow its passes in the parent.
        self.matches: dict[int, tuple] = {}
        self.patients: set[int] = set()
        self.hits: list = []
        self._evidence: dict[tuple, tuple] = {}
        self.finder = attribution.CanaryFinder(lab)

    def add(self, result: tuple) -> None:
        seen, matches, hits = result
        self.categories.update(seen)
        for number, patient_id, confidence, found in matches:
            # Half a million matches share a handful of evidence lists: keep one of each.
            evidence = self._evidence.setdefault(key := tuple(found), key)
            self.matched_rows.append(number)
            self.patients.add(patient_id)
            self.matches[number] = (patient_id, confidence, evidence)
            self.evidence.update(evidence)
            self.confidence["high" if confidence >= 0.9 else
                            "medium" if confidence >= 0.6 else "low"] += 1
        self.hits += hits


def scan_batch(task) -> tuple[Counter, list, list]:
    """One batch, pure CPU but for its lookups (a forked worker opens its own connection):
    (categories seen, [(row number, patient id, confidence, evidence)], canary hits)."""
    lab, columns, finder, numbers, cells = task
    seen: Counter = Counter()
    keys = [keys_of(columns, row, seen) for row in cells]
    keyed = keyed_lookups(lab, keys)
    matches = [(number, m.patient_id, m.confidence, m.evidence)
               for number, m in zip(numbers, match_batch(lab, keys, keyed), strict=True) if m]
    return seen, matches, finder.check(numbers, keys, cells, keyed)


def _scan_section(section: reading.Section, totals: _Totals, progress=None) -> dict:
    sample = []
    for number, cells in section.rows:
        sample.append((number, cells))
        if len(sample) >= SAMPLE:
            break
    columns = classify.classify(section.header, (cells for _, cells in sample))

    def all_rows():
        yield from sample
        yield from section.rows

    counted = [0]

    def tasks():
        numbers, cells_batch = [], []
        for number, cells in all_rows():
            counted[0] += 1
            numbers.append(number)
            cells_batch.append(cells)
            if len(numbers) >= BATCH:
                yield totals.lab, columns, totals.finder, numbers, cells_batch
                numbers, cells_batch = [], []
        if numbers:
            yield totals.lab, columns, totals.finder, numbers, cells_batch

    workers = fork_workers(None, len(sample), PARALLEL_MIN)
    for result in ordered_map(scan_batch, tasks(), workers):
        totals.add(result)
        if progress is not None:
            progress(totals.rows + counted[0])  # rows read so far, this table included
    count = counted[0]
    totals.rows += count
    return {"name": section.name, "rows": count,
            "columns": [c.as_dict() for c in columns]}


def scan_file(lab, source, *, limits: reading.Limits | None = None,
              circumstances: dict | None = None, progress=None) -> ScanResult:
    """Scan a path (or a function opening the file); TabularError on a file it cannot read.
    `progress(rows)`, if given, is called after each batch with the rows read so far."""
    totals = _Totals(lab)
    tables, fmt, compression = [], "", None
    for section in reading.sections(source, limits):
        fmt, compression = section.format, section.compression
        tables.append(_scan_section(section, totals, progress))
    if not totals.rows and fmt == "xlsx":
        # The reader takes cached values only; a workbook saved by a program that never
        # computed its formulas has none, so its rows read as empty.
        raise errors.TabularError(
            "xlsx_values", "Le classeur ne contient aucune valeur lisible (formules jamais "
            "calculées ?) : ouvrez-le dans un tableur et enregistrez-le, ou exportez-le en CSV.",
            "The workbook holds no readable value (formulas never computed?).")
    if not totals.rows:
        raise errors.empty()
    lab_canaries = attribution.lab_canaries(lab, totals.patients)
    canaries = attribution.describe(lab, totals.hits)
    canaries += [{"canary": None, "kind": "lab", "lab": getattr(lab, "pk", lab),
                  "rows": sorted(r for r, m in totals.matches.items() if m[0] == pk),
                  "evidence": ["lab_canary"]} for pk in sorted(lab_canaries)]
    patients = totals.patients - lab_canaries
    columns = [dict(c, table=t["name"]) if len(tables) > 1 else c
               for t in tables for c in t["columns"]]
    categories = dict(sorted(totals.categories.items()))
    public = {
        "rows": totals.rows, "format": fmt, "compression": compression,
        "tables": [{"name": t["name"], "rows": t["rows"]} for t in tables],
        "columns": columns,
        "categories": categories,
        "matched_rows": sorted(totals.matched_rows),
        "matched_patients": len(patients),
        "evidence": dict(sorted(totals.evidence.items())),
        "confidence": dict(sorted(totals.confidence.items())),
        "canaries": canaries,
        "exports": attribution.export_overlap(lab, patients),
        "severity": severity.assess(categories, len(patients), **(circumstances or {})),
    }
    private = {"patient_ids": sorted(patients),
               "matches": {str(k): v for k, v in sorted(totals.matches.items())}}
    return ScanResult(public, private)
