"""Export pages: request (seeing what each profile carries), list, detail with history,
approve / refuse / purge (second person, fresh re-authentication), download.

Thin: parse, authorise, call exports.services, render. Rule refusals come
back as French messages, not 403: the person may act, the rule said no.
"""

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from etanche.accounts.permissions import Perm, has_permission
from etanche.exports import profiles
from etanche.exports import services as exports
from etanche.exports.models import Status
from etanche.web.access import current_lab, get_export_for_user
from etanche.web.decorators import require_permission, sudo_required
from etanche.web.forms.exports import ExportRequestForm, RefuseForm


def _messages_of(exc: ValidationError) -> list[str]:
    return [m for msgs in exc.message_dict.values() for m in msgs] \
        if hasattr(exc, "error_dict") else exc.messages


@require_GET
@require_permission(Perm.EXPORT_REQUEST)
@never_cache
def export_list(request):
    rows = list(exports.exports_of_lab(current_lab(request))[:200])
    for e in rows:  # the profile's French label, not its slug (issue 24, item 14)
        e.profile_label = profiles.get(e.profile).label
        e.format_label = profiles.FORMATS.get(e.format, e.format)
    return render(request, "exports/list.html", {"exports": rows})


@require_http_methods(["GET", "POST"])
@require_permission(Perm.EXPORT_REQUEST)
@never_cache
def export_create(request):
    form = ExportRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            export = exports.request_export(
                current_lab(request), request.user, profile=data["profile"],
                fmt=data["format"], selection=data["selection"], patient_ids=data["patients"],
                since=data["since"], recipient=data["recipient"],
                expires_in=timedelta(days=data["expires_days"]), downloads=data["downloads"],
                downloads_shared=data["downloads_shared"])
        except exports.ExportRefused as exc:
            for field, errors in exc.message_dict.items():
                name = {"expires": "expires_days"}.get(field, field)
                form.add_error(name if name in form.fields else None, errors)
        else:
            messages.success(request, f"Demande d'export n° {export.pk} enregistrée : une "
                                      "seconde personne doit l'approuver.")
            return redirect("export_detail", pk=export.pk)
    return render(request, "exports/create.html",
                  {"form": form, "profiles": profiles.PROFILES.values()})


@require_GET
@require_permission(Perm.EXPORT_REQUEST)
@never_cache
def export_detail(request, pk):
    export = get_export_for_user(request, pk, Perm.EXPORT_REQUEST)
    membership = request.membership
    can_decide = exports.may_decide(export, request.user)
    return render(request, "exports/detail.html", {
        "export": export, "profile": profiles.get(export.profile),
        "history": exports.history(export),
        "refusal_reason": exports.refusal_reason(export)
        if export.status == Status.REFUSED else "",
        "can_decide": can_decide, "refuse_form": RefuseForm(),
        "approvals": exports.approvals(export) if export.status == Status.REQUESTED else None,
        "own_request": export.requested_by_id == request.user.pk,
        "can_download": has_permission(membership, Perm.EXPORT_DOWNLOAD)
        and export.status == Status.PRODUCED and exports.may_download(export, request.user),
        # Destroying a file only once there is one (issue 24, item 14); before, refuse.
        "can_purge": has_permission(membership, Perm.EXPORT_APPROVE) and not export.is_final
        and export.status == Status.PRODUCED,
        "holds": exports.holds(export),
        # The canary's identifier, for the approver to pass to the recipient out of band.
        "canary": exports.canary_notice(export)
        if has_permission(membership, Perm.EXPORT_APPROVE) else None,
    })


@require_POST
@require_permission(Perm.EXPORT_APPROVE)
@sudo_required
def export_approve(request, pk):
    export = get_export_for_user(request, pk, Perm.EXPORT_APPROVE)
    try:
        export = exports.approve_export(export, request.user)
    except exports.ExportRefused as exc:
        for message in _messages_of(exc):
            messages.error(request, message)
    else:
        if export.status == Status.REQUESTED:
            given, needed = exports.approvals(export)
            messages.success(request, f"Approbation enregistrée : {given} approbation sur "
                                      f"{needed}. Une autre personne doit encore approuver.")
            return redirect("export_detail", pk=pk)
        # Produced by `etanche worker`, off the request: the page follows its progress.
        messages.success(request, "Export approuvé : le fichier chiffré est en préparation.")
    return redirect("export_detail", pk=pk)


@require_POST
@require_permission(Perm.EXPORT_APPROVE)
@sudo_required
def export_refuse(request, pk):
    export = get_export_for_user(request, pk, Perm.EXPORT_APPROVE)
    form = RefuseForm(request.POST)
    try:
        if not form.is_valid():
            raise exports.ExportRefused({"reason": ["Indiquez le motif du refus."]})
        exports.refuse_export(export, request.user, form.cleaned_data["reason"])
    except exports.ExportRefused as exc:
        for message in _messages_of(exc):
            messages.error(request, message)
    else:
        messages.success(request, "Demande d'export refusée.")
    return redirect("export_detail", pk=pk)


@require_POST
@require_permission(Perm.EXPORT_APPROVE)
@sudo_required
def export_purge(request, pk):
    export = get_export_for_user(request, pk, Perm.EXPORT_APPROVE)
    try:
        exports.purge_export(export, request.user)
    except exports.ExportGone as exc:
        messages.error(request, exc.message_fr)
    else:
        messages.success(request, "Fichier d'export détruit.")
    return redirect("export_detail", pk=pk)


@require_POST
@require_permission(Perm.EXPORT_DOWNLOAD)
@never_cache
def export_download(request, pk):
    export = get_export_for_user(request, pk, Perm.EXPORT_DOWNLOAD)
    try:
        handle = exports.open_for_download(export, request.user)
    except exports.ExportGone as exc:
        messages.error(request, exc.message_fr)
        return redirect("export_detail", pk=pk)
    except exports.ExportRefused as exc:
        for message in _messages_of(exc):
            messages.error(request, message)
        return redirect("export_detail", pk=pk)
    return FileResponse(handle, as_attachment=True, filename=export.file_name,
                        content_type="application/octet-stream")
