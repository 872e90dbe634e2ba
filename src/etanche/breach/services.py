"""Breach cases: open one, feed it scans, note what was done, follow the 72-hour clock.

Services take plain values and a user whose permission (Perm.BREACH_MANAGE) the entry point
checked. Each change is journaled (BREACH_CASE, BREACH_SCAN) with ids and counts only.
A scan runs outside any transaction (it may take minutes); its result is stored, the case
updated and the journal written together, in one short transaction.
"""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from etanche.breach import severity
from etanche.breach.models import OBJECT_TYPE, BreachCase, BreachScan, CaseStatus
from etanche.breach.scan import ScanResult, scan_file
from etanche.journal.models import Action
from etanche.journal.services import record as journal
from etanche.tabular.classify import ART33_LABELS

MAX_NOTE = 4000
MAX_FIELD = 2000
# The case's free fields, as the CNIL form asks for them (drafts.py), editable by the DPO.
FIELDS = ("title", "nature", "consequences", "measures_taken", "measures_proposed",
          "dpo_contact", "people_informed")


class BreachError(ValidationError):
    """A refusal with a French message (the web shows it on the form, the CLI on one line)."""


def _empty_sealed(title: str) -> dict:
    return {"title": title, "nature": "", "consequences": "", "measures_taken": "",
            "measures_proposed": "", "dpo_contact": "", "people_informed": "",
            "notes": [], "patient_ids": [], "categories": {}, "records": 0,
            "circumstances": {"confidentiality": "wide", "integrity": "none",
                              "availability": "none", "malicious": False}}


def open_case(lab, user, *, title: str = "", aware_at: datetime | None = None,
              via: str = "web") -> BreachCase:
    aware_at = aware_at or timezone.now()
    if aware_at > timezone.now():
        raise BreachError("La date de prise de connaissance ne peut pas être dans le futur.")
    if len(title) > 200:
        raise BreachError("Le titre dépasse 200 caractères.")
    with transaction.atomic():
        case = BreachCase(lab_id=getattr(lab, "pk", lab), created_by=user, aware_at=aware_at)
        case.set_sealed(_empty_sealed(title.strip()))
        case.save(force_insert=True)
        journal(lab=case.lab, user=user, action=Action.BREACH_CASE, object_type=OBJECT_TYPE,
                object_id=case.pk, detail={"event": "open", "via": via})
    return case


def _lock(case: BreachCase) -> BreachCase:
    return BreachCase.objects.select_for_update().get(pk=case.pk)


def record_scan(case: BreachCase, user, result: ScanResult, sha256: str, *,
                via: str = "web") -> BreachScan:
    """Store a scan's result on the case: affected patients and categories are the union of
    every scan's."""
    public = result.public
    with transaction.atomic():
        case = _lock(case)
        scan = BreachScan(lab_id=case.lab_id, case=case, created_by=user, rows=public["rows"],
                          matched_rows=len(public["matched_rows"]),
                          matched_patients=public["matched_patients"])
        scan.set_sealed({"public": public, "private": result.private, "sha256": sha256})
        scan.save(force_insert=True)
        sealed = case.get_sealed()
        sealed["patient_ids"] = sorted(set(sealed["patient_ids"]) | set(result.patient_ids))
        categories = dict(sealed["categories"])
        for name, count in public["categories"].items():
            categories[name] = max(categories.get(name, 0), count)
        sealed["categories"] = categories
        sealed["records"] = sealed.get("records", 0) + public["rows"]
        case.set_sealed(sealed)
        case.save()
        journal(lab=case.lab, user=user, action=Action.BREACH_SCAN, object_type=OBJECT_TYPE,
                object_id=case.pk,
                detail={"scan": scan.pk, "rows": public["rows"],
                        "matched_rows": len(public["matched_rows"]),
                        "matched_patients": public["matched_patients"],
                        "canaries": len(public["canaries"]), "sha256": sha256, "via": via})
    return scan


def scan_into_case(lab, user, source, sha256: str, *, case: BreachCase | None = None,
                   via: str = "web", limits=None, progress=None,
                   then=None) -> tuple[BreachCase, BreachScan, ScanResult]:
    """Scan a file (TabularError if unreadable), open a case if none given, record it.

    The case's opening, the scan's record and `then(case, scan)` (the worker marks its job
    done there) commit together: a worker killed before the commit scans again from
    scratch and opens no second case."""
    circumstances = case.get_sealed()["circumstances"] if case else None
    result = scan_file(lab, source, limits=limits, circumstances=circumstances,
                       progress=progress)
    with transaction.atomic():
        if case is None:
            case = open_case(lab, user, title="Fichier divulgué", via=via)
        scan = record_scan(case, user, result, sha256, via=via)
        if then is not None:
            then(case, scan)
    case.refresh_from_db()
    return case, scan, result


def update_case(case: BreachCase, user, *, via: str = "web", status: str | None = None,
                circumstances: dict | None = None, note: str = "",
                aware_at: datetime | None = None, **fields) -> BreachCase:
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise BreachError("Champ inconnu du dossier.")
    if status is not None and status not in CaseStatus.values:
        raise BreachError("Statut inconnu : open, notified ou closed.")
    if any(len(str(v)) > MAX_FIELD for v in fields.values()) or len(note) > MAX_NOTE:
        raise BreachError(f"Un champ dépasse {MAX_FIELD} caractères.")
    if circumstances is not None:
        levels = set(severity.CIRCUMSTANCES)
        if any(circumstances.get(k, "none") not in levels
               for k in ("confidentiality", "integrity", "availability")):
            raise BreachError("Circonstances : none, limited ou wide.")
    if aware_at is not None and aware_at > timezone.now():
        raise BreachError("La date de prise de connaissance ne peut pas être dans le futur.")
    with transaction.atomic():
        case = _lock(case)
        if aware_at is not None:
            case.aware_at = aware_at
        sealed = case.get_sealed()
        sealed.update({k: str(v).strip() for k, v in fields.items()})
        if circumstances is not None:
            sealed["circumstances"] = {**sealed["circumstances"], **circumstances}
        if note.strip():
            sealed["notes"].append({"at": timezone.now().isoformat(), "by": user.pk,
                                    "text": note.strip()})
        case.set_sealed(sealed)
        changed = sorted(fields) + (["aware_at"] if aware_at is not None else [])
        if status and status != case.status:
            case.status = status
            if status == CaseStatus.NOTIFIED and case.notified_at is None:
                case.notified_at = timezone.now()
            changed.append("status")
        case.save()
        journal(lab=case.lab, user=user, action=Action.BREACH_CASE, object_type=OBJECT_TYPE,
                object_id=case.pk,
                detail={"event": "update", "fields": changed, "note": bool(note.strip()),
                        "status": case.status, "via": via})
    return case


def case_summary(case: BreachCase, now: datetime | None = None) -> dict:
    """What the case page and the drafts show: no patient identity."""
    now = now or timezone.now()
    sealed = case.get_sealed()
    scans = list(case.scans.order_by("created_at"))
    categories = sealed["categories"]
    left = case.deadline - now
    publics = [scan.get_sealed()["public"] for scan in scans]
    canaries = [c for public in publics for c in public["canaries"]]
    # The lab's honeypots found: each scan names each one once; two scans of copies of one
    # file would name the same ones again, so the most any scan found, never their sum.
    lab_canaries = max((sum(1 for c in public["canaries"] if c["kind"] != "export")
                        for public in publics), default=0)
    exports = [e for public in publics for e in public["exports"]]
    return {
        "case": case, "sealed": sealed, "scans": list(zip(scans, publics, strict=True)),
        "patients": len(sealed["patient_ids"]), "records": sealed.get("records", 0),
        "categories": [(ART33_LABELS.get(name, name), count)
                       for name, count in sorted(categories.items())],
        "severity": severity.assess(categories, len(sealed["patient_ids"]),
                                    **sealed["circumstances"]),
        "deadline": case.deadline, "overdue": left.total_seconds() < 0,
        "hours_left": int(left.total_seconds() // 3600),
        "minutes_left": int(left.total_seconds() % 3600 // 60),
        "canaries": canaries, "exports": exports, "lab_canaries": lab_canaries,
        "export_canaries": [c for c in canaries if c["kind"] == "export"],
    }


def cases_of_lab(lab):
    return BreachCase.objects.for_lab(lab).order_by("-created_at")
