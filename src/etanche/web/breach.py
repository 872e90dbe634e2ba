"""The DPO's breach pages: upload a leaked file (sealed on arrival, scanned by the worker,
deleted), the scan's progress and result, the cases with their 72-hour clock, the CNIL draft
and the encrypted art. 34 letters.

Thin: parse, authorise, call breach.jobs / breach.services / breach.drafts, render. The
upload itself is sealed by web/breach_upload.py before this view runs; the view hands the
spool to a scan job (breach.jobs, which the worker runs and which deletes it), or the
request's end deletes it (a refused upload, or a view that never ran).
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from etanche.accounts.permissions import Perm
from etanche.breach import drafts, jobs
from etanche.breach import services as breach
from etanche.breach.models import BreachCase, BreachScanJob, CaseStatus, ScanJobStatus
from etanche.web.access import current_lab, get_object_for_user
from etanche.web.breach_upload import SpooledLeak
from etanche.web.decorators import require_permission, sudo_required


class CaseForm(forms.Form):
    status = forms.ChoiceField(label="Statut", choices=CaseStatus.choices, required=False)
    title = forms.CharField(label="Titre", max_length=200, required=False)
    nature = forms.CharField(label="Nature de la violation", required=False,
                             widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)
    consequences = forms.CharField(label="Conséquences probables", required=False,
                                   widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)
    measures_taken = forms.CharField(label="Mesures prises", required=False, max_length=2000,
                                     widget=forms.Textarea(attrs={"rows": 3}))
    measures_proposed = forms.CharField(label="Mesures envisagées", required=False,
                                        max_length=2000,
                                        widget=forms.Textarea(attrs={"rows": 3}))
    dpo_contact = forms.CharField(label="Contact du DPO", max_length=2000, required=False)
    people_informed = forms.CharField(label="Information des personnes", max_length=2000,
                                      required=False)
    note = forms.CharField(label="Note au dossier", required=False, max_length=4000,
                           widget=forms.Textarea(attrs={"rows": 2}))


class LettersForm(forms.Form):
    recipient = forms.CharField(label="Votre clé publique age (age1…)", max_length=100)


def _case(request, pk) -> BreachCase:
    return get_object_for_user(request, BreachCase.objects.select_related("lab"),
                               Perm.BREACH_MANAGE, pk=pk)


@require_GET
@require_permission(Perm.BREACH_MANAGE)
@never_cache
def breach_list(request):
    lab = current_lab(request)
    return render(request, "breach/list.html",
                  {"cases": [breach.case_summary(c) for c in breach.cases_of_lab(lab)[:100]]})


@require_http_methods(["GET", "POST"])
@require_permission(Perm.BREACH_MANAGE)
@never_cache
def breach_upload(request):
    lab = current_lab(request)
    cases = breach.cases_of_lab(lab).exclude(status=CaseStatus.CLOSED)
    error = ""
    if request.method == "POST":
        upload = request.FILES.get("file")
        target = None
        case_id = request.POST.get("case") or ""
        if case_id:
            target = cases.filter(pk=int(case_id)).first() if case_id.isdigit() else None
            if target is None:
                error = "Dossier inconnu ou clos."
        if not isinstance(upload, SpooledLeak) or not upload.size:
            error = error or "Choisissez le fichier divulgué (il ne doit pas être vide)."
        if not error:
            job = jobs.receive(lab, request.user, upload.spool, case=target)
            upload.keep()  # the worker scans it, then deletes it
            return redirect("breach_job", pk=job.pk)
        if isinstance(upload, SpooledLeak):
            upload.spool.delete()
    return render(request, "breach/upload.html", {"cases": cases, "error": error},
                  status=400 if error else 200)


@require_GET
@require_permission(Perm.BREACH_MANAGE)
@never_cache
def breach_job(request, pk):
    """The upload's scan: its status (the page reloads itself while it waits), then the
    result as the case shows it, or the French sentence saying why the file was refused."""
    job = get_object_for_user(request, BreachScanJob.objects.select_related("case", "scan"),
                              Perm.BREACH_MANAGE, pk=pk)
    done = job.status == ScanJobStatus.DONE
    return render(request, "breach/job.html", {
        "job": job, "scan": job.scan, "s": breach.case_summary(job.case) if done else None,
        "waiting": job.status in (ScanJobStatus.UPLOADED, ScanJobStatus.RUNNING)})


@require_GET
@require_permission(Perm.BREACH_MANAGE)
@never_cache
def breach_case(request, pk):
    case = _case(request, pk)
    sealed = case.get_sealed()
    initial = {k: sealed.get(k, "") for k in breach.FIELDS} | {"status": case.status}
    return render(request, "breach/case.html", {
        "s": breach.case_summary(case), "form": CaseForm(initial=initial),
        "letters_form": LettersForm()})


@require_POST
@require_permission(Perm.BREACH_MANAGE)
def breach_case_update(request, pk):
    case = _case(request, pk)
    form = CaseForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, message)
        return redirect("breach_case", pk=pk)
    data = form.cleaned_data
    fields = {k: data[k] for k in breach.FIELDS if k in request.POST}
    try:
        breach.update_case(case, request.user, status=data["status"] or None,
                           note=data["note"], **fields)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, "Dossier mis à jour.")
    return redirect("breach_case", pk=pk)


@require_GET
@require_permission(Perm.BREACH_MANAGE)
@never_cache
def breach_cnil_pdf(request, pk):
    case = _case(request, pk)
    _text, pdf = drafts.cnil_notification(case, request.user)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="notification-cnil-{case.pk}.pdf"'
    return response


@require_POST
@require_permission(Perm.BREACH_MANAGE)
@sudo_required
def breach_letters(request, pk):
    case = _case(request, pk)
    form = LettersForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Indiquez votre clé publique age (age1…).")
        return redirect("breach_case", pk=pk)
    try:
        data, count = drafts.encrypted_letters(case, request.user,
                                               form.cleaned_data["recipient"])
    except drafts.DraftError as exc:
        messages.error(request, str(exc))
        return redirect("breach_case", pk=pk)
    response = HttpResponse(data, content_type="application/octet-stream")
    response["Content-Disposition"] = (f'attachment; filename="lettres-art34-{case.pk}-'
                                       f'{count}.pdf.age"')
    return response
