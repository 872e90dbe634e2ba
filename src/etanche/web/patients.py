"""Patient pages of the front office: search, registration, the patient's page.

Thin: parse the form, call patients.services (which checks, seals and
journals), render. Records come only through `get_patient_for_user`.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from etanche.accounts import usage
from etanche.accounts.permissions import Perm, has_permission
from etanche.orders import services as orders
from etanche.patients import services as patients
from etanche.patients.status import IdentityStatus, allowed_targets
from etanche.web.access import current_lab, get_patient_for_user
from etanche.web.decorators import require_permission
from etanche.web.forms.patients import PatientForm, PatientSearchForm


def _over_limit(request, kind: str):
    """A 429 page when this account searched or read too much too fast, else None."""
    over = usage.count(request.user.pk, kind)
    if over is None:
        return None
    response = render(request, "patients/too_many.html", {"message": over.message},
                      status=429)
    response["Retry-After"] = str(over.retry_after)
    return response


def _add_errors(form, exc: ValidationError) -> None:
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


@require_http_methods(["GET", "POST"])
@require_permission(Perm.PATIENT_SEARCH)
@never_cache
def patient_search(request):
    """GET shows the empty form; POST searches. Identifiers travel in the body only, never
    in a URL (browser history, proxy logs, a login's `next`), and the result page is not
    cached (never_cache: no-store). A query string is ignored, not obeyed."""
    form = PatientSearchForm(request.POST if request.method == "POST" else None)
    page = None
    if form.is_bound and form.is_valid():
        criteria = form.criteria()
        refused = _over_limit(request, usage.SEARCH) if criteria else None
        if refused:
            return refused
        if criteria:
            try:
                page = patients.search(current_lab(request), request.user, **criteria,
                                       page=request.POST.get("page") or 1, purpose="accueil")
            except ValidationError as exc:
                _add_errors(form, exc)
    return render(request, "patients/search.html", {
        "form": form, "page": page,
        "can_register": has_permission(request.membership, Perm.PATIENT_WRITE),
    })


@require_http_methods(["GET", "POST"])
@require_permission(Perm.PATIENT_WRITE)
@never_cache
def patient_create(request):
    lab = current_lab(request)
    form = PatientForm(request.POST or None)
    candidates = []
    if request.method == "POST" and form.is_valid():
        try:
            result = patients.register_patient(
                lab, request.user, form.service_data(timezone.localdate()),
                not_duplicate=form.cleaned_data["not_duplicate"])
        except patients.DuplicatePatient as exc:
            candidates = exc.candidates
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, "Patient enregistré.")
            for warning in result.warnings:
                messages.warning(request, warning)
            return redirect("patient_detail", pk=result.id)
    return render(request, "patients/create.html", {"form": form, "candidates": candidates})


def _status_needs(current: str) -> list[tuple[str, str]]:
    return [(IdentityStatus(target).label, reason)
            for target, reason in allowed_targets(current).items()
            if target != IdentityStatus(current) and reason]


@require_GET
@require_permission(Perm.PATIENT_READ)
@never_cache
def patient_detail(request, pk: int):
    refused = _over_limit(request, usage.READ)
    if refused:
        return refused
    record = get_patient_for_user(request, pk, Perm.PATIENT_READ, purpose="accueil")
    if record.redirected_from:
        return redirect("patient_detail", pk=record.id)
    lab = current_lab(request)
    patient, _ = patients.resolve_patient(lab, record.id)
    fields = record.fields
    status = fields.get("identity_status") or IdentityStatus.PROV.value
    membership = request.membership
    return render(request, "patients/detail.html", {
        "record": record, "p": fields, "status_label": IdentityStatus(status).label,
        "status": status, "status_needs": _status_needs(status),
        "orders": orders.orders_for_patient(lab, patient),
        "can_order": has_permission(membership, Perm.ORDER_WRITE),
        "can_see_history": has_permission(membership, Perm.ACCESS_HISTORY_READ),
    })
