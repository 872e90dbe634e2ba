"""Where a leaked file came from: its canaries, and the exports its patients fall inside.

- An export canary (watch.Canary, kind export) found among the rows names its export: id,
  profile, requester, approver(s), recipient, dates. It is found by the same keyed values
  as the patients (NIR, birth name + date, phonetic + date, e-mail, phone:
  `watch.find_canaries`), confirmed by unsealing only the candidate canaries, or by its
  pseudonym (research profile) or request number appearing in any cell.
- A matched patient that is a lab canary (a honeypot patient of the lab's own database,
  watch.LabCanary) proves the file came from the lab's database rather than an export.
- `export_overlap`: for each produced export, how many of the matched patients it held and
  how much of it the file holds ("every matched patient was in export 42, and 97% of
  export 42 is in the file"). A list export's patients are the ones it sealed; an "all" or
  "period" export's are recomputed from today's records created before its production,
  which is an approximation the report states.
"""

from dataclasses import dataclass

from etanche.breach.matching import MATCH_SCORE, Keys, score
from etanche.exports.models import Export, Selection, Status
from etanche.patients.models import Patient
from etanche.watch import canaries
from etanche.watch import services as watch
from etanche.watch.models import CANARY_INDEXES, Canary

PRODUCED = (Status.PRODUCED, Status.DOWNLOADED, Status.EXPIRED, Status.PURGED)
OVERLAP_MIN = 0.5  # an export is named when at least half of the matched patients are in it


@dataclass
class CanaryHit:
    canary_id: int
    kind: str
    export_id: int | None
    row: int  # 1-based data-row number of the file
    evidence: list[str]


class CanaryFinder:
    """The lab's canaries, checked batch by batch against the rows of a scan."""

    def __init__(self, lab):
        self.lab = lab
        rows = list(Canary.objects.for_lab(lab).values_list(
            "pk", "marker", "request_number", "kind", "export_id"))
        self.markers = {m.lower(): pk for pk, m, *_ in rows if m}
        self.numbers = {n: pk for pk, _, n, *_ in rows if n}
        self._kinds = {pk: kind for pk, _, _, kind, _ in rows}
        self._exports = {pk: export for pk, *_, export in rows}

    def _hit(self, pk: int, row: int, evidence: list[str]) -> CanaryHit:
        return CanaryHit(pk, self._kinds[pk], self._exports[pk], row, evidence)

    def check(self, numbers: list[int], batch: list[Keys], cells: list[list[str]],
              keyed: dict) -> list[CanaryHit]:
        if not self._kinds:
            return []
        hits = []
        if self.markers or self.numbers:
            for number, row in zip(numbers, cells, strict=True):
                for cell in row:
                    text = cell.strip()
                    if text.lower() in self.markers:
                        hits.append(self._hit(self.markers[text.lower()], number, ["marker"]))
                    elif text in self.numbers:
                        hits.append(self._hit(self.numbers[text], number, ["request_number"]))
        wanted = {name: list(rows_of) for name, rows_of in keyed.items()
                  if name in CANARY_INDEXES}
        for canary in watch.find_canaries(self.lab, wanted):
            env = watch.canary_record(canary)["identity"]
            rows = {row for name, rows_of in keyed.items() if name in CANARY_INDEXES
                    for key, found in rows_of.items()
                    if key == getattr(canary, f"{name}_index") for row in found}
            for row in sorted(rows):
                points, evidence = score(batch[row], env)
                if points >= MATCH_SCORE:
                    hits.append(self._hit(canary.pk, numbers[row], evidence))
        return hits


def lab_canaries(lab, patient_ids) -> set[int]:
    """Which of these patients are the lab's honeypots (watch/canaries.py)."""
    return canaries.canaries_among(lab, patient_ids) if patient_ids else set()


def _user(user) -> str:
    return user.get_username() if user else ""


def describe_export(export: Export | None, export_id: int | None) -> dict:
    if export is None:
        return {"id": export_id, "found": False}
    approvers = [u for u in (export.first_approved_by, export.decided_by) if u]
    return {
        "id": export.pk, "found": True, "profile": export.profile, "format": export.format,
        "status": export.status, "requester": _user(export.requested_by),
        "approvers": [_user(u) for u in approvers], "recipient": export.recipient,
        "requested_at": export.requested_at.isoformat(),
        "produced_at": export.produced_at.isoformat() if export.produced_at else None,
    }


def describe(lab, hits: list[CanaryHit]) -> list[dict]:
    """One entry per canary found: its kind, its export (or lab), the rows that carry it."""
    by_canary: dict[int, list[CanaryHit]] = {}
    for hit in hits:
        by_canary.setdefault(hit.canary_id, []).append(hit)
    export_ids = {h[0].export_id for h in by_canary.values() if h[0].export_id}
    exports = {e.pk: e for e in Export.objects.for_lab(lab).filter(pk__in=export_ids)
               .select_related("requested_by", "decided_by", "first_approved_by")}
    out = []
    for pk, found in sorted(by_canary.items()):
        first = found[0]
        entry = {"canary": pk, "kind": first.kind,
                 "rows": sorted({h.row for h in found}),
                 "evidence": sorted({e for h in found for e in h.evidence})}
        if first.kind == Canary.EXPORT:
            entry["export"] = describe_export(exports.get(first.export_id), first.export_id)
        else:
            entry["lab"] = getattr(lab, "pk", lab)
        out.append(entry)
    return out


def _export_patients(export: Export) -> set[int]:
    if export.selection == Selection.LIST:
        return set(export.get_sealed()["patient_ids"])
    rows = Patient.objects.for_lab(export.lab_id).filter(merged_into__isnull=True)
    moment = export.produced_at or export.requested_at
    rows = rows.filter(created_at__lte=moment)
    if export.selection == Selection.PERIOD and export.since_datetime:
        rows = rows.filter(created_at__gte=export.since_datetime) | \
            Patient.objects.for_lab(export.lab_id).filter(
                orders__created_at__gte=export.since_datetime, created_at__lte=moment)
    return set(rows.values_list("pk", flat=True).distinct())


def export_overlap(lab, patient_ids: set[int]) -> list[dict]:
    """Exports holding at least OVERLAP_MIN of the matched patients, best first."""
    if not patient_ids:
        return []
    out = []
    for export in Export.objects.for_lab(lab).filter(status__in=PRODUCED).order_by("pk"):
        held = _export_patients(export)
        if not held:
            continue
        common = len(held & patient_ids)
        inside = common / len(patient_ids)
        if inside >= OVERLAP_MIN:
            out.append({"export": export.pk, "profile": export.profile,
                        "matched_inside": round(inside, 3),
                        "export_in_file": round(common / len(held), 3),
                        "approximate": export.selection != Selection.LIST})
    out.sort(key=lambda e: (-e["matched_inside"], -e["export_in_file"], e["export"]))
    return out
