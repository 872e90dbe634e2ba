import itertools

from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from etanche.accounts.permissions import Perm, has_permission
from etanche.journal import queries, services
from etanche.journal.models import Action
from etanche.patients import services as patients
from etanche.web.access import check_patient_for_user, current_lab
from etanche.web.decorators import require_permission
from etanche.web.forms.journal import JournalExportForm, JournalFilterForm
from etanche.web.purposes import purpose_for

PAGE_SIZE = 50
OBJECT_TYPES = {"patient": "dossier", "accounts.User": "compte", "export": "export",
                "journal": "journal", "catalogue": "catalogue"}


def _name_of(env: dict) -> str:
    first = (env.get("first_names") or [""])[0]
    return f"{(env.get('birth_name') or '').upper()} {first}".strip()


def _name_objects(request, lab, entries) -> int:
    """Give each entry `object_display`: a patient's or a member's name for a reader who may
    see it, unsealed for this display only (never stored, never in a URL) (issue 24, 8).
    Returns how many patients were named, for the journal entry of this view."""
    entries = list(entries)
    users = {int(e.object_id) for e in entries
             if e.object_type == "accounts.User" and str(e.object_id).isdigit()}
    names = {u.pk: u.get_full_name() or u.username
             for u in get_user_model().objects.filter(pk__in=users)}
    people = {}
    if has_permission(request.membership, Perm.PATIENT_READ):
        ids = {int(e.object_id) for e in entries
               if e.object_type == "patient" and str(e.object_id).isdigit()}
        people = {pk: _name_of(env) for pk, env in patients.live_envelopes(lab, ids)}
    for e in entries:
        kind = OBJECT_TYPES.get(e.object_type, e.object_type)
        key = int(e.object_id) if str(e.object_id).isdigit() else None
        shown = people.get(key) if e.object_type == "patient" else (
            names.get(key) if e.object_type == "accounts.User" else None)
        e.object_display = f"{kind} {shown}" if shown else (
            f"{kind} n° {str(e.object_id)[-6:]}" if e.object_id else kind)
    return len(people)


def _lab_users(lab):
    return get_user_model().objects.filter(memberships__lab=lab).order_by("last_name", "first_name")


@require_GET
@require_permission(Perm.JOURNAL_READ)
def journal(request):
    lab = current_lab(request)
    form = JournalFilterForm(request.GET or None, users=_lab_users(lab))
    entries = queries.entries_for_lab(lab).none()
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        entries = queries.entries_for_lab(
            lab,
            user_id=data["user"] or None,
            action=data["action"] or None,
            patient_id=data["patient"],
            start=data["start"],
            end=data["end"],
        )
    elif not form.is_bound:
        entries = queries.entries_for_lab(lab)
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    named = _name_objects(request, lab, page.object_list)
    used = form.cleaned_data if form.is_bound and form.is_valid() else {}
    services.record(
        lab=lab,
        user=request.user,
        action=Action.JOURNAL_VIEW,
        object_type="journal",
        detail={"filters": sorted(name for name, value in used.items() if value),
                **({"patients_named": named} if named else {})},
    )
    return render(
        request,
        "journal/journal.html",
        {"form": form, "page": page, "export_form": JournalExportForm()},
    )


@require_GET
@require_permission(Perm.ACCESS_HISTORY_READ)
def access_history(request, patient_id: int):
    lab = current_lab(request)
    # Existence in this lab only: no unsealing, no READ entry.
    patient_id = check_patient_for_user(request, patient_id, Perm.ACCESS_HISTORY_READ)
    entries = queries.access_history(lab, patient_id, patients.merged_into(lab, patient_id))
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    _name_objects(request, lab, page.object_list)
    # The title names the person for a reader who may see the record (display only).
    found = (patients.live_envelopes(lab, [patient_id])
             if has_permission(request.membership, Perm.PATIENT_READ) else [])
    name = _name_of(found[0][1]) if found else ""
    # Filed under the journal, not the patient: looking at who saw a record is
    # oversight, not an access to the record itself.
    services.record(
        lab=lab,
        user=request.user,
        action=Action.JOURNAL_VIEW,
        object_type="journal",
        purpose="historique des accès",
        detail={"patient": patient_id},
    )
    if name:
        # The title unsealed the person's name: an access to the record itself.
        services.record(lab=lab, user=request.user, action=Action.READ, object_type="patient",
                        object_id=patient_id, purpose=purpose_for(request, "historique des accès"),
                        detail={"shown": "nom"})
    return render(request, "journal/access_history.html", {
        "page": page, "patient_id": patient_id, "name": name,
        "reference": str(patient_id)[-6:]})


@require_GET
@require_permission(Perm.JOURNAL_READ)
def journal_export(request):
    lab = current_lab(request)
    form = JournalExportForm(request.GET)
    if not form.is_valid():
        return render(
            request,
            "journal/journal.html",
            {"form": JournalFilterForm(users=_lab_users(lab)), "page": None, "export_form": form},
            status=400,
        )
    start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    lines = queries.signed_export_lines(lab, start, end)
    # The first line runs the query: an export that fails leaves no entry saying it was
    # made (the entry, written after, is therefore not in the file it describes).
    first = next(lines)
    services.record(
        lab=lab,
        user=request.user,
        action=Action.JOURNAL_EXPORT,
        object_type="journal",
        detail={"from": start.isoformat(), "to": end.isoformat()},
    )
    response = StreamingHttpResponse(
        itertools.chain([first], lines), content_type="application/x-ndjson"
    )
    name = f"journal-{lab.slug}-{start.isoformat()}-{end.isoformat()}.jsonl"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
