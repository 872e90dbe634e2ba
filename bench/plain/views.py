"""Plaintext twins of the registration, request entry and search pages.

Same decorators (deny by default, permissions, CSRF through the middleware,
never_cache), same forms and templates as etanche.web.patients and
etanche.web.orders; only the service underneath is the plaintext one.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from bench.plain import services
from bench.plain.models import PlainPatient
from etanche.accounts.permissions import Perm, has_permission
from etanche.patients.search import summary_of
from etanche.web.access import current_lab
from etanche.web.decorators import require_permission
from etanche.web.forms.orders import OrderForm
from etanche.web.forms.patients import PatientForm, PatientSearchForm
from etanche.web.orders import _preview
from etanche.web.patients import _add_errors

MEMO = "bench.prescriber"


@require_http_methods(["GET", "POST"])
@require_permission(Perm.PATIENT_SEARCH)
@never_cache
def floor(request):
    """stack_floor: the cheapest authenticated page the product could serve. The same
    middleware, session, login and second-factor state, permission check and CSRF check
    as every page; the site's layout rendered once; no query of ours. A POST answers
    with the redirect a form's success gives, as the intake's two POSTs do."""
    if request.method == "POST":
        return redirect("plain_floor")
    return render(request, "bench/floor.html")


@require_http_methods(["GET", "POST"])
@require_permission(Perm.PATIENT_SEARCH)
@never_cache
def search(request):
    # As the product's page: GET shows the empty form, POST searches (criteria in the body).
    form = PatientSearchForm(request.POST if request.method == "POST" else None)
    page = None
    if form.is_bound and form.is_valid():
        criteria = form.criteria()
        if criteria:
            criteria["nir_value"] = criteria.pop("nir", None)
            try:
                page = services.search(current_lab(request), **criteria,
                                       page=request.POST.get("page") or 1)
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
            pk, candidates = services.register(
                lab, form.service_data(timezone.localdate()),
                not_duplicate=form.cleaned_data["not_duplicate"])
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            if pk:
                messages.success(request, "Patient enregistré.")
                return redirect("plain_order_create", patient_id=pk)
    return render(request, "patients/create.html", {"form": form, "candidates": []})


@require_http_methods(["GET", "POST"])
@require_permission(Perm.ORDER_WRITE)
@never_cache
def order_create(request, patient_id: int):
    lab = current_lab(request)
    patient = PlainPatient.objects.filter(lab=lab, pk=patient_id).first()
    if patient is None:
        raise Http404
    last = request.session.get(MEMO) or {}
    form = OrderForm(request.POST or None, initial={
        "prescriber_name": last.get("name", ""), "prescriber_rpps": last.get("rpps", ""),
        "prescription_date": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            order = services.create_order(
                lab, request.user, patient, tests=form.codes(), urgent=data["urgent"],
                prescriber_name=data["prescriber_name"],
                prescriber_rpps=data["prescriber_rpps"],
                prescription_date=data["prescription_date"],
                clinical_info=data["clinical_info"], notes=data["notes"],
                answers=form.answers())
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            request.session[MEMO] = {"name": order.prescriber_name,
                                     "rpps": order.prescriber_rpps}
            messages.success(request, f"Demande {order.number} enregistrée.")
            return redirect("plain_order_detail", pk=order.pk)
    preview = _preview(lab, form.codes())
    summary = summary_of(patient.pk, services.env_of(patient))
    return render(request, "orders/create.html", {
        "form": form, "p": summary, "record": summary, "preview": preview,
        "question_fields": form.question_fields(preview["question_keys"]),
    })


@require_GET
@require_permission(Perm.ORDER_READ)
@never_cache
def order_detail(request, pk: int):
    raise Http404  # only a redirect target: the benchmark does not follow redirects
