"""Request entry, the request page (sampling, reception, labels) and the lab's catalogue.

Thin views: parse, authorise (`require_permission`, objects via
`get_*_for_user`), call orders.services, render. htmx only adds the live test
preview and the test search to the request form; every page works without it.
"""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from etanche.accounts.models import Membership
from etanche.accounts.permissions import Perm, has_permission, role_has
from etanche.orders import catalogue, memo, prescribers, wording
from etanche.orders import services as orders
from etanche.orders.models import Status
from etanche.orders.preanalytical import CONTAINERS, QUESTIONS, SPECIMEN_KINDS
from etanche.patients import services as patients
from etanche.patients.validators import check_rpps
from etanche.web.access import (
    current_lab,
    get_catalogue_test_for_user,
    get_order_for_user,
    resolve_patient_for_user,
)
from etanche.web.decorators import require_permission
from etanche.web.forms.orders import (
    CancelForm,
    CatalogueSettingsForm,
    LocalTestForm,
    OrderForm,
    RejectForm,
    SampleForm,
)
from etanche.web.purposes import purpose_for


def _add_errors(form, exc: ValidationError) -> None:
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


def _preview(lab, codes: list[str]) -> dict:
    """What the typed codes mean: known tests, unknown codes, tubes, questions to ask."""
    known = {t.code: t for t in catalogue.enabled_tests(lab).filter(code__in=codes)}
    tests = [known[c] for c in dict.fromkeys(codes) if c in known]
    containers = [c for c in CONTAINERS
                  if c in {SPECIMEN_KINDS[t.specimen].container for t in tests}]
    return {
        "tests": tests,
        "unknown": [c for c in dict.fromkeys(codes) if c not in known],
        "containers": [CONTAINERS[c].label for c in containers],
        "question_keys": list(dict.fromkeys(k for t in tests for k in t.question_keys)),
    }


# --- request entry ------------------------------------------------------------------

@require_http_methods(["GET", "POST"])
@require_permission(Perm.ORDER_WRITE)
@never_cache
def order_create(request, patient_id: int):
    lab = current_lab(request)
    # Registering the request journals a CREATE naming the patient; the record is opened
    # (a journaled READ) only when the page shows it: a form to fill or to correct.
    patient, redirected = resolve_patient_for_user(request, patient_id, Perm.ORDER_WRITE)
    # Prescribers are offered as choices, none selected: never filled in silently. Looked
    # up only when the page or the form's checks need them (OrderForm.prescribers).
    def offered():
        return prescribers.offered(prescribers.of_patient(lab, orders.record_ids(patient)),
                                   memo.recent(request.session, lab, request.user))

    form = OrderForm(request.POST or None, prescribers=offered,
                     initial={"prescription_date": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            order = orders.create_order(
                lab, request.user, patient, tests=form.codes(), urgent=data["urgent"],
                prescriber_name=data["prescriber_name"],
                prescriber_rpps=data["prescriber_rpps"],
                prescription_date=data["prescription_date"],
                clinical_info=data["clinical_info"], notes=data["notes"],
                answers=form.answers())
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            # The prescriber just typed, normalised as create_order stored it: opening the
            # sealed order again cost a journaled read per request (bench/RESULTS.md).
            memo.remember(request.session, lab, request.user,
                          " ".join(data["prescriber_name"].split()),
                          check_rpps(data["prescriber_rpps"]) if data["prescriber_rpps"].strip()
                          else "")
            messages.success(request, f"Demande {order.number} enregistrée, prescripteur : "
                                      f"{' '.join(data['prescriber_name'].split())}.")
            return redirect("order_detail", pk=order.pk)
    record = patients.open_patient(lab, request.user, patient, redirected,
                                   purpose="saisie d'une demande")
    preview = _preview(lab, form.codes())
    return render(request, "orders/create.html", {
        "form": form, "p": record.summary, "record": record, "preview": preview,
        "question_fields": form.question_fields(preview["question_keys"]),
        "prescribers": form.prescribers, "chosen": form.chosen_prescriber(),
        "choice": request.POST.get("prescriber_choice", ""),
    })


@require_http_methods(["GET", "POST"])
@require_permission(Perm.ORDER_WRITE)
@never_cache
def order_edit(request, pk: int):
    """Correct a request before sampling (tests, prescriber, texts), journaled."""
    lab = current_lab(request)
    order = get_order_for_user(request, pk, Perm.ORDER_WRITE)
    if order.status != Status.REGISTERED:
        messages.error(request, "Seule une demande pas encore prélevée peut être modifiée.")
        return redirect("order_detail", pk=order.pk)
    purpose = purpose_for(request, "modification d'une demande")
    details = orders.read_order(lab, request.user, order, purpose=purpose)
    current = prescribers.Prescriber(name=details.prescriber_name,
                                     rpps=details.prescriber_rpps, source=prescribers.CURRENT)
    patient_choices = [p for p in prescribers.of_patient(lab, [order.patient_id])
                       if p.token != current.token]
    offered = [current, *prescribers.offered(patient_choices,
                                             memo.recent(request.session, lab, request.user))]
    form = OrderForm(request.POST or None, prescribers=offered, initial={
        "tests": " ".join(t.code for t in order.tests.all()), "urgent": order.urgent,
        "prescription_date": details.prescription_date, "clinical_info": details.clinical_info,
        "notes": details.notes,
        **{f"q_{k}": ({True: "oui", False: "non"}.get(v, v)) for k, v in details.answers.items()}})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            orders.update_order(
                lab, request.user, order, tests=form.codes(), urgent=data["urgent"],
                prescriber_name=data["prescriber_name"],
                prescriber_rpps=data["prescriber_rpps"],
                prescription_date=data["prescription_date"],
                clinical_info=data["clinical_info"], notes=data["notes"],
                answers=form.answers())
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, f"Demande {order.number} modifiée.")
            return redirect("order_detail", pk=order.pk)
    record = orders.patient_of(lab, request.user, order, purpose=purpose)
    preview = _preview(lab, form.codes())
    choice = request.POST.get("prescriber_choice", "") if request.method == "POST" \
        else current.token
    return render(request, "orders/create.html", {
        "form": form, "p": record.summary, "record": record, "preview": preview,
        "question_fields": form.question_fields(preview["question_keys"]),
        "prescribers": offered, "choice": choice, "editing": order,
        "chosen": form.chosen_prescriber() if form.is_bound else current,
    })


@require_POST
@require_permission(Perm.ORDER_WRITE)
@never_cache
def order_tests_preview(request):
    """htmx: the tests, tubes and questions of the codes typed so far (POST: answers stay
    out of URLs and logs). With `add`, the code is appended to the field first."""
    lab = current_lab(request)
    data = request.POST.copy()
    added = (data.get("add") or "").strip().upper()
    if added:
        codes = data.get("tests", "").split()
        if added not in codes:
            data["tests"] = " ".join([*codes, added])
    form = OrderForm(data)
    if data.get("part") == "prescriber":
        # The prescriber chosen so far, shown large above the save button.
        return render(request, "orders/_prescriber_summary.html",
                      {"chosen": form.chosen_prescriber()})
    form.is_valid()  # only to redisplay answers already typed
    preview = _preview(lab, form.codes())
    return render(request, "orders/_preview.html", {
        "form": form, "preview": preview, "oob_tests": bool(added),
        "question_fields": form.question_fields(preview["question_keys"]),
    })


@require_GET
@require_permission(Perm.ORDER_WRITE)
@never_cache
def test_search(request):
    """htmx: catalogue tests by code or words of the label (no personal data involved)."""
    query = (request.GET.get("q") or "").strip()[:60]
    results = catalogue.search_tests(current_lab(request), query) if len(query) >= 2 else []
    return render(request, "orders/_test_results.html", {"results": results, "q": query})


# --- the request page ---------------------------------------------------------------

def _collectors(lab):
    members = (Membership.objects.filter(lab=lab, is_active=True, user__is_active=True)
               .select_related("user").order_by("user__last_name", "user__first_name"))
    return [m.user for m in members if role_has(m.role, Perm.SPECIMEN_WRITE)]


@require_GET
@require_permission(Perm.ORDER_READ, reveals=(Perm.CLINICAL_READ,))
@never_cache
def order_detail(request, pk: int):
    lab = current_lab(request)
    order = get_order_for_user(request, pk, Perm.ORDER_READ)
    purpose = purpose_for(request, "consultation d'une demande")
    details = orders.read_order(lab, request.user, order, purpose=purpose)
    # One journal row for this page: read_order's, naming the patient and the request.
    record = orders.patient_of(lab, request.user, order, purpose=purpose)
    membership = request.membership
    return render(request, "orders/detail.html", {
        "order": order, "d": details, "p": record.summary, "record": record,
        "tests": list(order.tests.all()),
        "specimens": [(s, CONTAINERS[s.container].label)
                      for s in order.specimens.select_related("collector")],
        "status": Status(order.status),
        "sample_form": SampleForm(collectors=_collectors(lab), initial={
            "sampled_at": timezone.localtime().replace(second=0, microsecond=0),
            "collector": request.user.pk}),
        "cancel_form": CancelForm(), "reject_form": RejectForm(),
        "can_sample": has_permission(membership, Perm.SPECIMEN_WRITE),
        "can_cancel": has_permission(membership, Perm.ORDER_WRITE),
        "can_print": has_permission(membership, Perm.LABEL_PRINT),
        "can_read_clinical": has_permission(membership, Perm.CLINICAL_READ),
        "questions": QUESTIONS,
    })


def _act(request, pk, perm, action, form=None):
    """Run a workflow action on the order and come back to its page with a French message."""
    lab = current_lab(request)
    order = get_order_for_user(request, pk, perm)
    if form is not None and not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
        return redirect("order_detail", pk=order.pk)
    try:
        done = action(lab, order)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, done)
    return redirect("order_detail", pk=order.pk)


@require_POST
@require_permission(Perm.SPECIMEN_WRITE)
def order_sample(request, pk: int):
    lab = current_lab(request)
    collectors = {u.pk: u for u in _collectors(lab)}
    form = SampleForm(request.POST, collectors=collectors.values())

    def action(lab, order):
        orders.record_sampling(lab, request.user, order,
                               sampled_at=form.cleaned_data["sampled_at"],
                               collector=collectors[form.cleaned_data["collector"]])
        return "Prélèvement enregistré : vous pouvez imprimer les étiquettes."

    return _act(request, pk, Perm.SPECIMEN_WRITE, action, form)


@require_POST
@require_permission(Perm.SPECIMEN_WRITE)
def order_receive(request, pk: int):
    def action(lab, order):
        orders.receive(lab, request.user, order)
        return "Réception enregistrée."

    return _act(request, pk, Perm.SPECIMEN_WRITE, action)


@require_POST
@require_permission(Perm.ORDER_WRITE)
def order_cancel(request, pk: int):
    form = CancelForm(request.POST)

    def action(lab, order):
        orders.cancel(lab, request.user, order, form.cleaned_data["reason"])
        return "Demande annulée."

    return _act(request, pk, Perm.ORDER_WRITE, action, form)


@require_POST
@require_permission(Perm.SPECIMEN_WRITE)
def order_reject(request, pk: int):
    form = RejectForm(request.POST)

    def action(lab, order):
        orders.reject(lab, request.user, order, form.cleaned_data["reason"],
                      form.cleaned_data["comment"])
        return "Non-conformité enregistrée."

    return _act(request, pk, Perm.SPECIMEN_WRITE, action, form)


@require_GET
@require_permission(Perm.LABEL_PRINT)
def order_labels(request, pk: int):
    """Every tube's label; with `?tube=N`, tube N's alone (a torn or smudged label reprinted,
    journaled as a reprint)."""
    lab = current_lab(request)
    order = get_order_for_user(request, pk, Perm.LABEL_PRINT)
    rank = request.GET.get("tube")
    if rank is not None and not (rank.isdigit() and 0 < int(rank) < 100):
        raise Http404
    barcode = orders.barcode_for(order.number, int(rank)) if rank is not None else None
    try:
        pdf = orders.label_pdf(lab, request.user, order, barcode=barcode)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("order_detail", pk=order.pk)
    except orders.OrderNotFound:
        raise Http404 from None
    name = f"etiquettes-{order.number}" + (f"-tube-{int(rank):02d}" if rank else "")
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{name}.pdf"'
    response["Cache-Control"] = "no-store"
    return response


@require_GET
@require_permission(Perm.LABEL_PRINT)
@never_cache
def order_receipt(request, pk: int):
    """A receipt for the patient, printable: number, date, tests, lab; nothing clinical."""
    lab = current_lab(request)
    order = get_order_for_user(request, pk, Perm.LABEL_PRINT)
    return render(request, "orders/receipt.html", {
        **orders.receipt(lab, request.user, order), "lab": lab,
        "contact": settings.ETANCHE_RECEIPT_CONTACT})


# --- catalogue ----------------------------------------------------------------------

@require_GET
@require_permission(Perm.CATALOGUE_MANAGE)
@never_cache
def catalogue_list(request):
    lab = current_lab(request)
    query = (request.GET.get("q") or "").strip()[:60]
    tests = catalogue.all_tests(lab)
    if request.GET.get("etat") == "desactivees":
        tests = tests.filter(enabled=False)
    tests = tests.order_by("code")
    if query:
        # Accents, case and synonyms aside, as on the request form (orders/wording.py).
        tests = [t for t in tests if t.code.startswith(query.upper())
                 or wording.matches(query, catalogue.found_by(t))]
    return render(request, "orders/catalogue.html", {
        "tests": tests, "q": query, "specimens": SPECIMEN_KINDS,
        "questions": QUESTIONS, "state": request.GET.get("etat", ""),
    })


@require_POST
@require_permission(Perm.CATALOGUE_MANAGE)
def catalogue_toggle(request, pk: int):
    test = get_catalogue_test_for_user(request, pk)
    catalogue.set_enabled(current_lab(request), request.user, test, not test.enabled)
    messages.success(request, f"{test.code} {'activée' if test.enabled else 'désactivée'}.")
    return redirect(f"{reverse('catalogue')}?q={test.code}")


@require_http_methods(["GET", "POST"])
@require_permission(Perm.CATALOGUE_MANAGE)
@never_cache
def catalogue_edit(request, pk: int):
    test = get_catalogue_test_for_user(request, pk)
    form = CatalogueSettingsForm(request.POST or None, initial={
        "specimen": test.specimen, "questions": test.question_keys})
    if request.method == "POST" and form.is_valid():
        try:
            catalogue.update_settings(current_lab(request), request.user, test,
                                      specimen=form.cleaned_data["specimen"],
                                      questions=" ".join(form.cleaned_data["questions"]))
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, f"Paramètres de {test.code} enregistrés.")
            return redirect("catalogue")
    return render(request, "orders/catalogue_edit.html", {"form": form, "test": test})


@require_http_methods(["GET", "POST"])
@require_permission(Perm.CATALOGUE_MANAGE)
@never_cache
def catalogue_add(request):
    form = LocalTestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            test = catalogue.add_local_test(current_lab(request), request.user,
                                            code=data["code"], label=data["label"],
                                            specimen=data["specimen"],
                                            questions=" ".join(data["questions"]))
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, f"Analyse locale {test.code} ajoutée.")
            return redirect("catalogue")
    return render(request, "orders/catalogue_edit.html", {"form": form, "test": None})
