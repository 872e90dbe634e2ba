"""The lab admin's page of the HL7 outbox: parked messages, resend or drop.

Ids, types, destinations and error codes only: a message's content never
reaches a page (it is sealed; the lab admin reads no patient record).
"""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from etanche.accounts.permissions import Perm
from etanche.interop import services
from etanche.interop.models import MessageStatus
from etanche.web.access import current_lab
from etanche.web.decorators import require_permission

SHOWN = 200


@require_http_methods(["GET", "POST"])
@require_permission(Perm.INTEROP_MANAGE)
@never_cache
def outbox(request):
    lab = current_lab(request)
    if request.method == "POST":
        action = request.POST.get("action")
        ref = (request.POST.get("message") or "").strip()
        try:
            if action == "retry" and ref.isdigit():
                sent = services.retry(lab, request.user, ref)
                messages.success(request, f"Message {sent.control_id} remis dans la file.")
            elif action == "drop" and ref.isdigit():
                dropped = services.drop(lab, request.user, ref)
                messages.success(request, f"Message {dropped.control_id} supprimé.")
            else:
                messages.error(request, "Action inconnue.")
        except services.InteropError as exc:
            messages.error(request, str(exc))
        return redirect("interop_outbox")
    rows = services.outbox(lab).exclude(status=MessageStatus.SENT)
    return render(request, "interop/outbox.html", {
        "lab": lab,
        "parked": list(rows.filter(status=MessageStatus.PARKED)[:SHOWN]),
        "pending": rows.filter(status=MessageStatus.PENDING).count(),
        "sent": services.outbox(lab, status=MessageStatus.SENT).count(),
    })
