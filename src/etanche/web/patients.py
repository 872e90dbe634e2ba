"""Patient pages of the front office: search, registration, the patient's page.

Thin: parse the form, call patients.services (which checks, seals and
journals), render. Records come only through `get_patient_for_user`.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from etanche.accounts import usage
from etanche.accounts.permissions import Perm, has_permission
from etanche.orders import services as orders
from etanche.patients import search as patient_lists
from etanche.patients import services as patients
from etanche.patients.intake import as_input
from etanche.patients.status import IdentityStatus, allowed_targets
from etanche.web.access import (
    current_lab,
    find_order_for_user,
    get_patient_for_user,
    resolve_patient_for_user,
)
from etanche.web.decorators import require_permission
from etanche.web.forms.patients import (
    CorrectionForm,
    MergeForm,
    PatientForm,
    PatientSearchForm,
)
from etanche.web.purposes import purpose_for


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
    if form.is_bound and form.is_valid() and form.scanned():
        if not has_permission(request.membership, Perm.ORDER_READ):
            form.add_error("number", "Votre rôle ne donne pas accès aux demandes.")
        else:
            order = find_order_for_user(request, form.scanned())
            if order is not None:
                return redirect("order_detail", pk=order.pk)
            form.add_error("number", "Aucune demande du laboratoire ne porte ce numéro ou "
                                     "ce code-barres.")
    elif form.is_bound and form.is_valid():
        criteria = form.criteria()
        refused = _over_limit(request, usage.SEARCH) if criteria else None
        if refused:
            return refused
        if criteria:
            try:
                page = patients.search(current_lab(request), request.user, **criteria,
                                       page=request.POST.get("page") or 1,
                                       purpose=purpose_for(request))
            except ValidationError as exc:
                _add_errors(form, exc)
    can_register = has_permission(request.membership, Perm.PATIENT_WRITE)
    return render(request, "patients/search.html", {
        "form": form, "page": page, "can_register": can_register,
        "carried": _carried(form) if can_register and page is not None else {},
    })


# Search criteria -> the registration fields they prefill (issue 24, item 11). They travel
# in a POST body from the result page (hidden fields of a no-store page), never in a URL.
CARRIED = {"name": "birth_name", "first_name": "first_names", "birth_date": "birth_date",
           "nir": "nir", "phone": "phone"}
FROM_SEARCH = "depuis_recherche"


def _carried(form) -> dict:
    return {CARRIED[key]: value for key, value in form.criteria().items() if key in CARRIED}


def _prefill(post) -> dict:
    """The registration fields sent by the search page, as initial values (not checked yet:
    the form is shown, not submitted)."""
    return {field: post.get(field, "")[:100] for field in CARRIED.values() if post.get(field)}


@require_http_methods(["GET", "POST"])
@require_permission(Perm.PATIENT_WRITE)
@never_cache
def patient_create(request):
    lab = current_lab(request)
    if request.method == "POST" and request.POST.get(FROM_SEARCH):
        return render(request, "patients/create.html", {
            "form": PatientForm(initial=_prefill(request.POST)), "candidates": [],
            "same_nir": False, "from_search": True})
    form = PatientForm(request.POST or None)
    candidates, same_nir = [], False
    if request.method == "POST" and form.is_valid():
        try:
            result = patients.register_patient(
                lab, request.user, form.service_data(timezone.localdate()),
                not_duplicate=form.cleaned_data["not_duplicate"])
        except patients.SameNir as exc:
            form.add_error("nir", patients.SameNir.MESSAGE)
            candidates, same_nir = exc.candidates, True
        except patients.DuplicatePatient as exc:
            candidates = exc.candidates
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, "Patient enregistré.")
            for warning in result.warnings:
                messages.warning(request, warning)
            return redirect("patient_detail", pk=result.id)
    return render(request, "patients/create.html", {"form": form, "candidates": candidates,
                                                    "same_nir": same_nir})


DAY_PAGE = 25


@require_GET
@require_permission(Perm.PATIENT_SEARCH)
@never_cache
def patients_today(request):
    """The patients of the day: registered today or with a request today, paged. Record
    numbers only, as the request list of the day; names on request (?noms=1) for a role
    that may read records, each person shown journaled as a read (issue 24, item 12)."""
    lab = current_lab(request)
    with_requests = orders.orders_of_day(lab).values_list("patient_id", flat=True)
    ids = patient_lists.patients_of_day(lab, with_requests=list(with_requests))
    page = Paginator(ids, DAY_PAGE).get_page(request.GET.get("page"))
    may_name = has_permission(request.membership, Perm.PATIENT_READ)
    shown = {}
    if may_name and request.GET.get("noms") == "1":
        # A page of names counts as a search against the account's limits (a stolen
        # account must not page through the day's names unchecked).
        refused = _over_limit(request, usage.SEARCH)
        if refused:
            return refused
        shown = patient_lists.summaries_shown(
            lab, request.user, list(page.object_list),
            purpose=purpose_for(request, "liste des patients du jour"))
    rows = [(pk, shown.get(pk)) for pk in page.object_list]
    return render(request, "patients/today.html", {
        "rows": rows, "page": page, "may_name": may_name, "names_shown": bool(shown),
        "total": page.paginator.count,
    })


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
    record = get_patient_for_user(request, pk, Perm.PATIENT_READ,
                                  purpose=purpose_for(request))
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
        "can_correct": has_permission(membership, Perm.PATIENT_WRITE),
        "can_merge": has_permission(membership, Perm.PATIENT_MERGE),
        "can_rights": has_permission(membership, Perm.SUBJECT_REQUEST),
        "versions": patients.versions(lab, record.id),
        "undoable": patients.merges_undoable(lab, record.id),
        "labels": FIELD_LABELS,
    })


FIELD_LABELS = {
    "birth_name": "Nom de naissance", "first_names": "Prénoms de naissance",
    "used_name": "Nom utilisé", "used_first_name": "Prénom utilisé",
    "birth_date": "Date de naissance", "sex": "Sexe", "birthplace_code": "Lieu de naissance",
    "birthplace_label": "Lieu de naissance (libellé)", "ins": "INS (NIR ou NIA)",
    "ins_oid": "OID de l'INS", "identity_status": "Statut de l'identité",
    "id_document": "Pièce d'identité contrôlée", "street": "Adresse",
    "postal_code": "Code postal", "city": "Commune", "phones": "Téléphones",
    "email": "Courriel", "amo_regime": "Régime obligatoire", "amo_fund": "Caisse",
    "amo_centre": "Centre", "amc_insurer": "Complémentaire", "amc_contract": "N° de contrat",
    "physician_name": "Médecin traitant", "physician_rpps": "RPPS du médecin traitant",
    "blood_group": "Groupe sanguin", "notes": "Note", "insured_nir": "NIR de l'assuré",
}


@require_http_methods(["GET", "POST"])
@require_permission(Perm.PATIENT_WRITE)
@never_cache
def patient_correct(request, pk: int):
    """Correction of identity, contact, coverage and physician, with the checks of
    registration; the previous values are kept as a sealed version."""
    record = get_patient_for_user(request, pk, Perm.PATIENT_WRITE, purpose="correction")
    if record.redirected_from:
        return redirect("patient_correct", pk=record.id)
    form = CorrectionForm(request.POST or None,
                          initial=CorrectionForm.initial_from(as_input(record.fields)))
    candidates, same_nir = [], False
    if request.method == "POST" and form.is_valid():
        try:
            warnings = patients.update_patient(
                current_lab(request), request.user, record.id,
                form.changes(timezone.localdate()), purpose="correction",
                reason=form.cleaned_data["reason"],
                not_duplicate=form.cleaned_data["not_duplicate"])
        except patients.SameNir as exc:
            form.add_error("nir", patients.SameNir.MESSAGE)
            candidates, same_nir = exc.candidates, True
        except patients.DuplicatePatient as exc:
            candidates = exc.candidates
        except ValidationError as exc:
            _add_errors(form, exc)
        except patients.PatientError:
            form.add_error(None, "Ce dossier ne peut pas être corrigé.")
        else:
            messages.success(request, "Dossier corrigé ; les valeurs précédentes sont "
                                      "conservées dans l'historique des versions.")
            for warning in warnings:
                messages.warning(request, warning)
            return redirect("patient_detail", pk=record.id)
    return render(request, "patients/correct.html", {
        "form": form, "record": record, "candidates": candidates, "same_nir": same_nir,
        "can_merge": has_permission(request.membership, Perm.PATIENT_MERGE)})


def _merge_choices(post, rows) -> dict:
    return {name: post.get(f"keep_{name}") for name, *_ in rows
            if post.get(f"keep_{name}") in (patients.KEEP, patients.OTHER)}


@require_http_methods(["GET", "POST"])
@require_permission(Perm.PATIENT_MERGE)
@never_cache
def patient_merge(request, pk: int):
    """Merge another record into this one: the other's id, then both side by side with
    the differences marked; the biologist picks, field by field, the value to keep."""
    lab = current_lab(request)
    patient, redirected = resolve_patient_for_user(request, pk, Perm.PATIENT_MERGE)
    if redirected:
        return redirect("patient_merge", pk=patient.pk)
    form = MergeForm(request.POST or request.GET or None)
    rows = None
    if form.is_bound and form.is_valid():
        other = form.cleaned_data["other"]
        resolve_patient_for_user(request, other, Perm.PATIENT_MERGE)  # 404 another lab's
        try:
            rows = patients.merge_preview(lab, request.user, patient.pk, other)
        except patients.PatientError:
            form.add_error("other", "Ce dossier ne peut pas être fusionné dans celui-ci "
                                    "(le même, ou déjà fusionné).")
        else:
            if request.method == "POST" and request.POST.get("confirm"):
                try:
                    patients.merge_patients(
                        lab, request.user, patient.pk, other, purpose="fusion",
                        choices=_merge_choices(request.POST, rows),
                        reason=form.cleaned_data["reason"])
                except (patients.PatientError, ValidationError):
                    form.add_error(None, "La fusion a été refusée : rechargez la page.")
                else:
                    messages.success(request, f"Dossier {other} fusionné dans celui-ci ; "
                                              "la fusion peut être annulée pendant "
                                              f"{patients.UNMERGE_DAYS} jours.")
                    return redirect("patient_detail", pk=patient.pk)
    return render(request, "patients/merge.html", {
        "form": form, "pk": patient.pk, "rows": rows, "labels": FIELD_LABELS,
        "other": form.cleaned_data.get("other") if rows else None})


@require_POST
@require_permission(Perm.PATIENT_MERGE)
def patient_unmerge(request, pk: int):
    """Undo a merge of the last 30 days: both records as they were."""
    patient, _ = resolve_patient_for_user(request, pk, Perm.PATIENT_MERGE)
    form = MergeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Indiquez le dossier dont la fusion est à annuler.")
        return redirect("patient_detail", pk=patient.pk)
    other = form.cleaned_data["other"]
    try:
        patients.unmerge_patients(current_lab(request), request.user, patient.pk, other,
                                  purpose="fusion")
    except (patients.PatientError, ValidationError) as exc:
        french = str(exc) if str(exc).startswith("Une fusion") else (
            "Ce dossier n'est pas fusionné dans celui-ci.")
        messages.error(request, french)
    else:
        messages.success(request, f"Fusion annulée : le dossier {other} est de nouveau "
                                  "distinct.")
    return redirect("patient_detail", pk=patient.pk)
