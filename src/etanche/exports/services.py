"""Exports: request, four-eyes decision, streamed encrypted production, download, purge.

    from etanche.exports import services as exports
    export = exports.request_export(lab, user, profile="transfer", fmt="ndjson",
                                    selection="list", patient_ids=[...], recipient="age1...")
    exports.approve_export(export, other_user)      # never the requester
    # approval queues the production; `etanche worker` runs it (exports/tasks.py):
    exports.produce_export(export)                  # file under $ETANCHE_DATA_DIR/exports/
    handle = exports.open_for_download(export, user)
    exports.purge_due()                             # cron: expiry and used-up downloads

Every step is journaled in the same transaction as its change (object type
"export", the export's id). `via="cli"` adds the OS user to the entry, next
to the named user who confirmed with their TOTP code. Refusals raise
ExportRefused (a ValidationError with French messages); a destroyed export
raises ExportGone. Both live in exports/errors.py and production in
exports/production.py; they are re-exported here, where callers find them.
Authority is the caller's (the web's `require_permission`, the CLI's
`acting_member`), checked once; the one rule applied here whoever calls is
four eyes (`check_four_eyes`).
"""

import os
from datetime import date, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from etanche.accounts import history as account_history
from etanche.accounts.permissions import Perm, has_permission
from etanche.accounts.services import membership_in
from etanche.exports import crypto, profiles
from etanche.exports.errors import ExportGone as ExportGone
from etanche.exports.errors import ExportRefused as ExportRefused
from etanche.exports.models import OBJECT_TYPE, Export, Selection, Status
from etanche.exports.production import canary_donors, selected_count
from etanche.exports.production import produce_export as produce_export
from etanche.exports.tasks import produce_export_task
from etanche.journal.actor import describe
from etanche.journal.models import Action, Entry, Outcome
from etanche.journal.services import record as journal
from etanche.patients.models import Patient
from etanche.watch.models import Canary
from etanche.watch.services import canary_record, issue_canary_for_export

DEFAULT_EXPIRY = timedelta(days=7)
MAX_EXPIRY = timedelta(days=30)
MAX_DOWNLOADS = 10
MAX_LIST = 100_000
# An approver whose account the requester created, reset, unlocked or gave its role to
# (or the other way round) within this many days is not a second person; nor is an
# account younger than MIN_APPROVER_AGE_DAYS (issue 16, item 3).
LINK_DAYS = 30
MIN_APPROVER_AGE_DAYS = 7
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> timedelta:
    """"90s", "30m", "12h", "7d" -> timedelta; ExportRefused otherwise."""
    text = (text or "").strip().lower()
    if len(text) < 2 or text[-1] not in UNITS or not text[:-1].isdigit():
        raise ExportRefused({"expires": ["Durée invalide : un nombre suivi de s, m, h ou d "
                                         "(par exemple 90s, 30m, 7d)."]})
    return timedelta(seconds=int(text[:-1]) * UNITS[text[-1]])


def _who(via: str) -> dict:
    return {"via": via, "os_user": describe(None)} if via == "cli" else {"via": via}


def _lock(export: Export) -> Export:
    return Export.objects.locked(export)


# --- request ----------------------------------------------------------------------------

def _selected_ids(lab, selection, patient_ids, since, profile) -> tuple[list[int], dict]:
    errors: dict[str, list[str]] = {}
    ids: list[int] = []
    if selection not in Selection.values:
        errors["selection"] = ["Choisissez : tous les patients, une liste ou une période."]
    elif selection == Selection.LIST:
        try:
            ids = sorted({int(i) for i in patient_ids or []})
        except (TypeError, ValueError):
            ids = []
            errors["patients"] = ["Les identifiants de patients sont des nombres."]
        if not ids and "patients" not in errors:
            errors["patients"] = ["Indiquez au moins un identifiant de patient."]
        elif len(ids) > MAX_LIST:
            errors["patients"] = [f"Pas plus de {MAX_LIST} patients par liste."]
        elif ids:
            found = set(Patient.objects.for_lab(lab).live().filter(pk__in=ids)
                        .values_list("pk", flat=True))
            if missing := len(set(ids) - found):
                errors["patients"] = [f"{missing} identifiant(s) ne désignent aucun dossier "
                                      "actif de ce laboratoire."]
    elif selection == Selection.PERIOD:
        if not isinstance(since, date):
            errors["since"] = ["Indiquez la date de début de la période (AAAA-MM-JJ)."]
        elif since > timezone.localdate():
            errors["since"] = ["La date de début ne peut pas être dans le futur."]
    if profile and profile.single_patient and not errors and (
            selection != Selection.LIST or len(ids) != 1):
        errors["patients"] = ["Le droit d'accès porte sur une seule personne : indiquez un "
                              "seul identifiant de patient."]
    return ids, errors


def request_export(lab, user, *, profile: str, fmt: str = "ndjson", selection: str,
                   patient_ids=None, since: date | None = None, recipient: str,
                   expires_in: timedelta = DEFAULT_EXPIRY, downloads: int = 1,
                   downloads_shared: bool = False, via: str = "web") -> Export:
    errors: dict[str, list[str]] = {}
    chosen = profiles.PROFILES.get(profile)
    if chosen is None:
        errors["profile"] = [f"Profil inconnu ; profils : {', '.join(profiles.PROFILES)}."]
    if fmt not in profiles.FORMATS:
        errors["format"] = ["Format inconnu : ndjson ou csv."]
    try:
        recipient = crypto.parse_recipient(recipient)
    except crypto.BadRecipient as exc:
        errors["recipient"] = [str(exc)]
    if not (timedelta(0) < expires_in <= MAX_EXPIRY):
        errors["expires"] = ["L'expiration doit être comprise entre 1 seconde et 30 jours."]
    if not isinstance(downloads, int) or not 1 <= downloads <= MAX_DOWNLOADS:
        errors["downloads"] = [f"Entre 1 et {MAX_DOWNLOADS} téléchargements."]
    ids, selection_errors = _selected_ids(lab, selection, patient_ids, since, chosen)
    errors.update(selection_errors)
    if errors:
        raise ExportRefused(errors)
    now = timezone.now()
    with transaction.atomic():
        export = Export(lab_id=getattr(lab, "pk", lab), profile=profile, format=fmt,
                        selection=selection, since=since if selection == Selection.PERIOD
                        else None, recipient=recipient, expires_at=now + expires_in,
                        downloads_allowed=downloads, downloads_shared=bool(downloads_shared),
                        requested_by=user, requested_at=now)
        export.set_sealed({"patient_ids": ids, "refusal_reason": "", "pseudonym_salt": None})
        export.save(force_insert=True)
        journal(lab=export.lab, user=user, action=Action.EXPORT_REQUEST,
                object_type=OBJECT_TYPE, object_id=export.pk, purpose=chosen.label,
                detail={"profile": profile, "format": fmt, "selection": selection,
                        "patients": len(ids) if ids else None,
                        "downloads_shared": bool(downloads_shared), **_who(via)})
    return export


# --- decision ---------------------------------------------------------------------------

def check_four_eyes(export: Export, user) -> None:
    """The four-eyes rule, written only here: whoever approves or refuses an export holds
    the approve permission in its lab, is not the person who asked nor the first approver
    of a large export, and is independent of the requester: neither made, reset, unlocked
    or promoted the other's account in the last LINK_DAYS days (read from the journal,
    accounts.history), and the account is MIN_APPROVER_AGE_DAYS old. ExportRefused if not.

    A business rule, not an entry point's check: approve and refuse apply it whoever calls
    them, and pages ask `may_decide` before offering the buttons.
    """
    if not has_permission(membership_in(user, export.lab_id), Perm.EXPORT_APPROVE):
        raise ExportRefused({"__all__": ["Seuls un biologiste, l'administrateur ou le DPO du "
                                         "laboratoire peuvent approuver ou refuser un "
                                         "export."]})
    if user.pk == export.requested_by_id:
        raise ExportRefused({"__all__": ["Le demandeur ne peut pas approuver ni refuser sa "
                                         "propre demande : il faut une seconde personne."]})
    if user.pk == export.first_approved_by_id:
        raise ExportRefused({"__all__": ["Vous avez déjà approuvé cet export : une autre "
                                         "personne doit donner la seconde approbation."]})
    if account_history.linked_recently(user, export.requested_by, days=LINK_DAYS):
        raise ExportRefused({"__all__": [
            "Vous ne pouvez pas décider de cette demande : votre compte a été créé, "
            "réinitialisé, déverrouillé ou a reçu son rôle du demandeur (ou l'inverse) il y a "
            f"moins de {LINK_DAYS} jours. Il faut une personne indépendante du demandeur."]})
    if account_history.younger_than(user, days=MIN_APPROVER_AGE_DAYS):
        raise ExportRefused({"__all__": [
            f"Votre compte a moins de {MIN_APPROVER_AGE_DAYS} jours : il ne peut pas encore "
            "approuver ni refuser un export."]})


def approvals(export: Export) -> tuple[int, int]:
    """(approvals given, approvals needed): two above ETANCHE_EXPORT_SECOND_APPROVER_OVER
    patients in the selection (counted now, so a growing lab is counted as it is)."""
    needed = 2 if selected_count(export) > settings.ETANCHE_EXPORT_SECOND_APPROVER_OVER else 1
    given = int(export.first_approved_by_id is not None)
    if export.decided_by_id is not None and export.status != Status.REFUSED:
        given += 1
    return given, max(needed, given)


def may_decide(export: Export, user) -> bool:
    """Whether `user` may approve or refuse `export` now (four eyes, still a request)."""
    if export.status != Status.REQUESTED:
        return False
    try:
        check_four_eyes(export, user)
    except ExportRefused:
        return False
    return True


def _decide(export: Export, user, via: str, decision: str) -> Export:
    """Shared checks of approve and refuse; returns the locked row. Caller holds a transaction."""
    export = _lock(export)
    export.get_sealed()  # the bound columns (requester, first approver...) are checked first
    check_four_eyes(export, user)
    if export.status != Status.REQUESTED:
        raise ExportRefused({"__all__": [f"Cet export est déjà "
                                         f"{export.get_status_display()}."]})
    if export.expires_at <= timezone.now():
        raise ExportRefused({"__all__": ["Cette demande a expiré avant d'être approuvée."]})
    return export


def _journal_denied(export, user, via, reason: str) -> None:
    journal(lab=export.lab, user=user, action=Action.EXPORT_APPROVE, object_type=OBJECT_TYPE,
            object_id=export.pk, outcome=Outcome.DENIED, detail={"refused": reason, **_who(via)})


def approve_export(export: Export, user, *, via: str = "web", queue: bool = True) -> Export:
    """Approve (four eyes); with `queue`, the production task is queued in the same
    transaction, so an approval is never left without it. The CLI produces in place.

    A large export stays requested after its first approval (`approvals`): the
    second approver's decision approves it."""
    try:
        with transaction.atomic():
            export = _decide(export, user, via, "approve")
            given, needed = approvals(export)
            now = timezone.now()
            if given + 1 < needed:
                export.first_approved_by, export.first_approved_at = user, now
                export.save(update_fields=["first_approved_by", "first_approved_at"])
            else:
                export.status, export.decided_by, export.decided_at = (
                    Status.APPROVED, user, now)
                export.save(update_fields=["status", "decided_by", "decided_at"])
            journal(lab=export.lab, user=user, action=Action.EXPORT_APPROVE,
                    object_type=OBJECT_TYPE, object_id=export.pk,
                    purpose=profiles.get(export.profile).label,
                    detail={"decision": "approved", "approval": given + 1, "of": needed,
                            **_who(via)})
            if export.status == Status.APPROVED and profiles.get(export.profile).announces_canary:
                # Made now, not at production: the approver is shown its identifier.
                issue_canary_for_export(export, among=canary_donors(export, export.get_sealed()))
            if queue and export.status == Status.APPROVED:
                produce_export_task.enqueue(export.pk)
    except ExportRefused:
        # A refused attempt (four eyes, role) is itself worth supervising (F6).
        with transaction.atomic():
            _journal_denied(export, user, via, "approval refused by the rules")
        raise
    return export


def refuse_export(export: Export, user, reason: str, *, via: str = "web") -> Export:
    reason = " ".join((reason or "").split())
    if not reason:
        raise ExportRefused({"reason": ["Indiquez le motif du refus."]})
    if len(reason) > 500:
        raise ExportRefused({"reason": ["Le motif ne doit pas dépasser 500 caractères."]})
    with transaction.atomic():
        export = _decide(export, user, via, "refuse")
        sealed = export.get_sealed()
        export.set_sealed({**sealed, "refusal_reason": reason})
        export.status, export.decided_by, export.decided_at = (
            Status.REFUSED, user, timezone.now())
        export.ended_at = export.decided_at
        export.save()
        journal(lab=export.lab, user=user, action=Action.EXPORT_APPROVE,
                object_type=OBJECT_TYPE, object_id=export.pk, outcome=Outcome.DENIED,
                detail={"decision": "refused", **_who(via)})
    return export


def refusal_reason(export: Export) -> str:
    return export.get_sealed().get("refusal_reason") or ""


# --- download and purge -----------------------------------------------------------------

NOT_YOURS = ("Seul le demandeur peut télécharger cet export : il n'a pas autorisé d'autres "
             "personnes à le faire.")


def may_download(export: Export, user) -> bool:
    """Whether `user` may spend a download of `export` (the permission is the caller's check).

    A download is destructive (the last one destroys the file), so it belongs to the
    requester unless they allowed others when asking.
    """
    return export.downloads_shared or user.pk == export.requested_by_id


def _end(export: Export, status: str, *, user=None, via="system", reason: str) -> None:
    """Destroy the file and the per-export secret; caller holds the row locked."""
    crypto.destroy(crypto.exports_dir() / export.file_name)
    crypto.destroy(crypto.exports_dir() / (export.file_name + crypto.PART))
    sealed = export.get_sealed()
    if sealed.get("pseudonym_salt"):
        export.set_sealed({**sealed, "pseudonym_salt": None})
    export.status, export.ended_at = status, timezone.now()
    export.save()
    journal(lab=export.lab, user=user, actor=None if user else "purge",
            action=Action.EXPORT_PURGE, object_type=OBJECT_TYPE, object_id=export.pk,
            detail={"status": status, "reason": reason, **_who(via)})


def open_for_download(export: Export, user, *, via: str = "web"):
    """A binary file object of the ciphertext; counts the download, journaled.

    On the last allowed download the file is unlinked as soon as it is open:
    the handle still reads it, nothing else can.
    """
    with transaction.atomic():
        export = _lock(export)
        # Opening the seal checks the bound columns (status, sharing...) before any
        # download is spent: a row rewritten in the database is TamperedData here.
        export.get_sealed()
        if export.status == Status.PRODUCED and export.expires_at <= timezone.now():
            _end(export, Status.EXPIRED, reason="expired")
        if export.is_final:
            refusal = ExportGone(export)
        elif export.status != Status.PRODUCED:
            raise ExportRefused({"__all__": ["Le fichier de cet export n'est pas encore "
                                             "prêt."]})
        elif not may_download(export, user):
            refusal = ExportRefused({"__all__": [NOT_YOURS]})
        else:
            refusal = None
            path = crypto.exports_dir() / export.file_name
            handle = open(path, "rb")  # noqa: SIM115 - returned to the caller, who closes it
            export.downloads_done += 1
            export.save(update_fields=["downloads_done"])
            journal(lab=export.lab, user=user, action=Action.EXPORT_DOWNLOAD,
                    object_type=OBJECT_TYPE, object_id=export.pk,
                    detail={"download": export.downloads_done, "of": export.downloads_allowed,
                            "sha256": export.sha256, **_who(via)})
            if export.downloads_left == 0:
                os.unlink(path)
                _end(export, Status.DOWNLOADED, user=user, via=via, reason="downloads used up")
    if refusal is not None:
        # Outside the transaction so the expiry above stays committed.
        with transaction.atomic():
            journal(lab=export.lab, user=user, action=Action.EXPORT_DOWNLOAD,
                    object_type=OBJECT_TYPE, object_id=export.pk, outcome=Outcome.DENIED,
                    detail={"status": export.status, **_who(via),
                            **({} if isinstance(refusal, ExportGone)
                               else {"refused": "not the requester"})})
        raise refusal
    return handle


def purge_export(export: Export, user, *, via: str = "web") -> Export:
    """Destroy an export's file now (an approver changed their mind, the recipient has it)."""
    with transaction.atomic():
        export = _lock(export)
        if export.is_final:
            raise ExportGone(export)
        _end(export, Status.PURGED, user=user, via=via, reason="purged on request")
    return export


def purge_due(now=None) -> list[tuple[int, str]]:
    """Expire what is past its date, end what has no download left, delete stray files.

    Safe to run often and concurrently (rows are locked one by one).
    """
    now = now or timezone.now()
    done = []
    live = (Status.REQUESTED, Status.APPROVED, Status.PRODUCED)
    due = Export.objects.filter(Q(status__in=live, expires_at__lte=now) | Q(
        status=Status.PRODUCED, downloads_done__gte=F("downloads_allowed")))
    for pk in due.values_list("pk", flat=True):
        with transaction.atomic():
            export = Export.objects.select_for_update().get(pk=pk)
            if export.status not in live:
                continue
            if export.expires_at <= now:
                _end(export, Status.EXPIRED, reason="expired")
            elif export.status == Status.PRODUCED and export.downloads_left == 0:
                _end(export, Status.DOWNLOADED, reason="downloads used up")
            else:
                continue
            done.append((export.pk, export.status))
    _sweep()
    return done


def _sweep() -> None:
    """Files whose export is over (or unknown) go, whatever left them behind."""
    directory = crypto.exports_dir()
    keep = {e.file_name for e in Export.objects.filter(status=Status.PRODUCED)}
    keep |= {e.file_name + crypto.PART for e in Export.objects.filter(status=Status.APPROVED)}
    for path in directory.iterdir():
        if path.is_file() and path.name not in keep:
            crypto.destroy(path)


def history(export: Export):
    """The journal entries of this export, oldest first (who asked, decided, fetched...)."""
    return (Entry.objects.filter(lab_id=export.lab_id, object_type=OBJECT_TYPE,
                                 object_id=str(export.pk)).order_by("seq"))


def exports_of_lab(lab):
    return (Export.objects.for_lab(lab).select_related("requested_by", "decided_by")
            .order_by("-requested_at"))


# --- what the file holds, and its canary (issue 24, item 3) ------------------------------

def _fr_count(n: int) -> str:
    return f"{n:,}".replace(",", "\u202f")


def holds(export: Export) -> str:
    """What the file holds, in words: "2 000 patients + 1 traceur"; "" before production
    has counted."""
    profile = profiles.get(export.profile)
    total = export.rows if export.status != Status.REQUESTED and export.rows else (
        export.progress_total or 0)
    if not total:
        return ""
    canaries = 1 if profile.canary else 0
    people = max(0, total - canaries)
    text = f"{_fr_count(people)} patient{'s' if people > 1 else ''}"
    return f"{text} + 1 traceur" if canaries else text


def canary_notice(export: Export) -> dict | None:
    """For a migration or transfer, the canary the file carries, to tell the recipient out
    of band: its identifier in the file, its name and birth date, its request numbers."""
    if not profiles.get(export.profile).announces_canary:
        return None
    canary = Canary.objects.for_lab(export.lab_id).filter(export_id=export.pk).first()
    if canary is None:
        return None
    stored = canary_record(canary)
    identity = stored["identity"]
    return {
        "patient_id": canary.pk,
        "birth_name": (identity.get("birth_name") or "").upper(),
        "first_names": " ".join(identity.get("first_names") or []),
        "birth_date": identity.get("birth_date") or "",
        "request_numbers": [r["number"] for r in stored.get("requests", [])],
    }
