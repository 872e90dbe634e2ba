import itertools

from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from etanche.accounts.permissions import Perm
from etanche.journal import queries, services
from etanche.journal.models import Action
from etanche.patients import services as patients
from etanche.web.access import check_patient_for_user, current_lab
from etanche.web.decorators import require_permission
from etanche.web.forms.journal import JournalExportForm, JournalFilterForm

PAGE_SIZE = 50


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
    used = form.cleaned_data if form.is_bound and form.is_valid() else {}
    services.record(
        lab=lab,
        user=request.user,
        action=Action.JOURNAL_VIEW,
        object_type="journal",
        detail={"filters": sorted(name for name, value in used.items() if value)},
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
    return render(request, "journal/access_history.html", {"page": page, "patient_id": patient_id})


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
