"""The DPO's alert pages (list, detail, triage), the lab admin's watch settings, and
break-the-glass on a request's clinical information."""

import json

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from etanche.accounts.permissions import Perm, has_permission
from etanche.breach import services as breach
from etanche.journal.models import Action, Entry
from etanche.journal.services import record as journal
from etanche.orders import services as orders
from etanche.watch import alerts, config, delivery, glass, privacy, rules
from etanche.watch.models import Alert
from etanche.web.access import (
    current_lab,
    get_membership_for_user,
    get_object_for_user,
    get_order_for_user,
)
from etanche.web.decorators import require_permission, sudo_required
from etanche.web.forms.alerts import (
    AlertCloseForm,
    AlertFilterForm,
    BreakGlassForm,
    StaffIdentityForm,
    WatchSettingsForm,
)

PAGE_SIZE = 50


def _alert(request, pk, perm) -> Alert:
    return get_object_for_user(request, Alert, perm, pk=pk, test=False)


@require_GET
@require_permission(Perm.ALERT_READ)
def alert_list(request):
    lab = current_lab(request)
    form = AlertFilterForm(request.GET or None)
    wanted = form.cleaned_data if form.is_bound and form.is_valid() else {}
    rows = alerts.of_lab(lab, state=wanted.get("state", ""), rule=wanted.get("rule", ""),
                         severity=wanted.get("severity", ""))
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    for alert in page:
        alert.title = rules.get(alert.rule).title
    return render(request, "alerts/list.html", {
        "form": form, "page": page, "failing": delivery.failing(lab)})


def _detail_context(request, alert, close_form=None) -> dict:
    refs = alerts.references(alert)
    pairs = [tuple(r) for r in refs["entries"]]
    chains = {c for c, _ in pairs}
    found = {(e.chain_id, e.seq): e for e in Entry.objects.filter(
        chain_id__in=chains, lab_id=alert.lab_id, seq__in=[s for _, s in pairs])}
    entries = [found[p] for p in pairs if p in found]
    grant_ids = [json.loads(e.detail).get("grant") for e in entries
                 if e.action == Action.BREAK_GLASS and e.detail]
    grants = [(g, g.get_sealed()["text"])
              for g in glass.grants_for(alert.lab_id, [i for i in grant_ids if i])]
    return {"alert": alert, "rule": rules.get(alert.rule), "entries": entries,
            "patients": refs["patients"], "comment": refs["comment"], "grants": grants,
            "deliveries": alert.deliveries.order_by("pk"),
            "close_form": close_form or AlertCloseForm(),
            "can_triage": alert.state != "closed",
            "can_open_breach": has_permission(getattr(request, "membership", None),
                                              Perm.BREACH_MANAGE)}


@require_GET
@require_permission(Perm.ALERT_READ)
def alert_detail(request, pk: int):
    alert = _alert(request, pk, Perm.ALERT_READ)
    context = _detail_context(request, alert)
    # Opening the alert shows patient ids and journal entries: oversight, journaled.
    journal(lab=alert.lab, user=request.user, action=Action.JOURNAL_VIEW,
            object_type=alerts.OBJECT_TYPE, object_id=alert.pk, purpose="alerte")
    return render(request, "alerts/detail.html", context)


@require_POST
@require_permission(Perm.ALERT_TRIAGE)
def alert_ack(request, pk: int):
    alert = _alert(request, pk, Perm.ALERT_TRIAGE)
    try:
        alerts.acknowledge(alert, request.user)
        messages.success(request, "Alerte prise en compte.")
    except alerts.AlertError as exc:
        messages.error(request, str(exc))
    return redirect("alert_detail", pk=alert.pk)


@require_POST
@require_permission(Perm.ALERT_TRIAGE)
def alert_close(request, pk: int):
    alert = _alert(request, pk, Perm.ALERT_TRIAGE)
    form = AlertCloseForm(request.POST)
    if form.is_valid():
        try:
            alerts.close(alert, request.user, form.cleaned_data["resolution"],
                         form.cleaned_data["comment"])
        except alerts.AlertError as exc:
            messages.error(request, str(exc))
            return redirect("alert_detail", pk=alert.pk)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, "Alerte close.")
            return redirect("alert_detail", pk=alert.pk)
    return render(request, "alerts/detail.html", _detail_context(request, alert, form),
                  status=400)


@require_POST
@require_permission(Perm.BREACH_MANAGE)
def alert_breach_case(request, pk: int):
    """Open a breach case from an alert (one per alert): the case and the alert's link to it
    are written together, or neither. Back to the alert, whose page links the case."""
    alert = _alert(request, pk, Perm.BREACH_MANAGE)
    if alert.breach_case_id is not None:
        messages.info(request, "Un dossier de violation est déjà ouvert pour cette alerte.")
        return redirect("alert_detail", pk=alert.pk)
    rule = rules.get(alert.rule)
    try:
        with transaction.atomic():
            case = breach.open_case(alert.lab, request.user,
                                    title=f"Alerte n° {alert.pk} : {rule.title}"[:200])
            breach.update_case(case, request.user,
                               note=f"Dossier ouvert depuis l'alerte n° {alert.pk} "
                                    f"({alert.rule}, {alert.count} occurrence(s)).")
            alerts.link_breach_case(alert, request.user, case.pk)
    except alerts.AlertError as exc:
        messages.error(request, str(exc))
        return redirect("alert_detail", pk=alert.pk)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("alert_detail", pk=alert.pk)
    messages.success(request, f"Dossier de violation n° {case.pk} ouvert.")
    return redirect("alert_detail", pk=alert.pk)


@require_http_methods(["GET", "POST"])
@require_permission(Perm.WATCH_MANAGE)
@sudo_required
def watch_settings(request):
    lab = current_lab(request)
    row = config.of(lab)
    form = WatchSettingsForm(request.POST or None,
                             initial=WatchSettingsForm.initial_from(row))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        config.save(lab, request.user, thresholds=form.thresholds(), hours=data["hours"],
                    email_to=data["email_to"], syslog=data["syslog"], webhook=data["webhook"])
        messages.success(request, "Réglages de la surveillance enregistrés.")
        return redirect("watch_settings")
    return render(request, "alerts/settings.html", {
        "form": form, "rules": rules.RULES, "targets": config.targets(row)})


@require_http_methods(["GET", "POST"])
@require_permission(Perm.BREAK_GLASS)
def break_glass(request, pk: int):
    order = get_order_for_user(request, pk, Perm.BREAK_GLASS)
    lab = current_lab(request)
    form = BreakGlassForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            glass.grant(lab, request.user, order.pk, reason=form.cleaned_data["reason"],
                        text=form.cleaned_data["text"])
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            return redirect("break_glass_view", pk=order.pk)
    return render(request, "alerts/break_glass.html", {
        "form": form, "order": order, "minutes": glass_minutes()})


def glass_minutes() -> int:
    return settings.ETANCHE_BREAK_GLASS_MINUTES


@require_GET
@require_permission(Perm.BREAK_GLASS)
def break_glass_view(request, pk: int):
    order = get_order_for_user(request, pk, Perm.BREAK_GLASS)
    lab = current_lab(request)
    grant = glass.active(lab, request.user, order.pk)
    if grant is None:
        return redirect("break_glass", pk=order.pk)
    details = orders.read_order(lab, request.user, order, purpose="accès d'urgence")
    return render(request, "alerts/break_glass_view.html", {
        "order": order, "d": details, "grant": grant})


@require_http_methods(["GET", "POST"])
@require_permission(Perm.WATCH_MANAGE)
@sudo_required
def staff_identity(request, pk: int):
    """What the privacy rules compare reads with, for one staff member: written, never shown
    back (it is sealed; the page says only whether it is recorded)."""
    member = get_membership_for_user(request, pk, Perm.WATCH_MANAGE)
    form = StaffIdentityForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            privacy.set_identity(member.lab, member.user_id, **form.cleaned_data)
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"phone": exc.messages}
            for field, messages_ in errors.items():
                form.add_error(field if field in form.fields else None, messages_)
        else:
            journal(lab=member.lab, user=request.user, action=Action.WATCH_SETTINGS,
                    object_type="accounts.User", object_id=member.user_id,
                    detail={"staff_identity": True})
            messages.success(request, "Identité enregistrée pour la surveillance.")
            return redirect("staff_identity", pk=member.pk)
    return render(request, "alerts/staff_identity.html", {
        "form": form, "member": member,
        "recorded": privacy.has_identity(member.lab, member.user_id)})
