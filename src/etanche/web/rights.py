"""Data-subject request pages (the DPO): the list with each deadline's clock, recording
a request, its page, and the answer (an encrypted file, or the letter).

Thin: parse, authorise, call rights.services, render.
"""

import base64

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from etanche.accounts.permissions import Perm
from etanche.rights import services as rights
from etanche.rights.models import Right, SubjectRequest
from etanche.web.access import current_lab, get_object_for_user
from etanche.web.decorators import require_permission, sudo_required
from etanche.web.forms.rights import AccessAnswerForm, SubjectRequestForm


def _add_errors(form, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


@require_http_methods(["GET", "POST"])
@require_permission(Perm.SUBJECT_REQUEST)
@never_cache
def subject_requests(request):
    lab = current_lab(request)
    form = SubjectRequestForm(request.POST or None,
                              initial={"patient": request.GET.get("patient", "")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            created = rights.record_request(
                lab, request.user, data["patient"], data["right"],
                identity_check=data["identity_check"], received_on=data["received_on"],
                notes=data["notes"])
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, f"Demande enregistrée : réponse due le "
                                      f"{created.due_on:%d/%m/%Y}.")
            return redirect("subject_request_detail", pk=created.pk)
    rows = SubjectRequest.objects.for_lab(lab).order_by("status", "due_on", "pk")[:200]
    return render(request, "rights/list.html", {
        "form": form, "rows": [(r, rights.days_left(r)) for r in rows]})


@require_GET
@require_permission(Perm.SUBJECT_REQUEST)
@never_cache
def subject_request_detail(request, pk: int):
    item = get_object_for_user(request, SubjectRequest, Perm.SUBJECT_REQUEST, pk=pk)
    sealed = item.get_sealed()
    return render(request, "rights/detail.html", {
        "item": item, "sealed": sealed, "days_left": rights.days_left(item),
        "is_access": item.right in (Right.ACCESS, Right.PORTABILITY),
        "is_rectification": item.right == Right.RECTIFICATION,
        "form": AccessAnswerForm()})


@require_POST
@require_permission(Perm.SUBJECT_REQUEST)
@sudo_required
@never_cache
def subject_request_answer(request, pk: int):
    """Access/portability: the encrypted answer, offered once on the page that shows its
    passphrase (never stored); the other rights: the letter, then the request's page."""
    item = get_object_for_user(request, SubjectRequest, Perm.SUBJECT_REQUEST, pk=pk)
    lab = current_lab(request)
    if item.status != "open":
        messages.error(request, "Cette demande a déjà reçu sa réponse.")
        return redirect("subject_request_detail", pk=item.pk)
    if item.right not in (Right.ACCESS, Right.PORTABILITY):
        rights.answer_with_letter(lab, request.user, item)
        messages.success(request, "Réponse enregistrée ; le courrier figure sur la page.")
        return redirect("subject_request_detail", pk=item.pk)
    form = AccessAnswerForm(request.POST)
    answer = None
    if form.is_valid():
        try:
            answer = rights.answer_access(lab, request.user, item,
                                          recipient=form.cleaned_data["recipient"] or None)
        except ValidationError as exc:
            _add_errors(form, exc)
    if answer is None:
        return render(request, "rights/detail.html", {
            "item": item, "sealed": item.get_sealed(), "days_left": rights.days_left(item),
            "is_access": True, "form": form})
    return render(request, "rights/answered.html", {
        "item": item, "answer": answer,
        "href": "data:application/octet-stream;base64,"
                + base64.b64encode(answer.data).decode()})
