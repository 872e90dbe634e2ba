from urllib.parse import urlencode

from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from etanche.accounts.permissions import Perm, has_permission
from etanche.orders import services as orders
from etanche.orders.models import Status
from etanche.orders.services import orders_of_day
from etanche.web.decorators import any_member
from etanche.web.menu import exports_awaiting
from etanche.web.purposes import purpose_for


@require_GET
@login_not_required
@never_cache
def healthz(request):
    """Liveness for a load balancer: says nothing about the lab or its data."""
    return HttpResponse("ok\n", content_type="text/plain")


@require_GET
@any_member
@never_cache
def home(request):
    """Every member's landing page; the front office sees today's requests of their lab.

    The list shows request numbers, times, tests and statuses, never names: the
    front-desk screen faces the waiting room, and a list of names with their
    tests would be read by the next person in the queue. Opening a request
    (journaled) shows who it is for.
    """
    membership = getattr(request, "membership", None)
    context = {
        "can_search": has_permission(membership, Perm.PATIENT_SEARCH),
        "can_register": has_permission(membership, Perm.PATIENT_WRITE),
        "can_catalogue": has_permission(membership, Perm.CATALOGUE_MANAGE),
        "can_journal": has_permission(membership, Perm.JOURNAL_READ),
        "orders": None,
        "exports_awaiting": exports_awaiting(membership) if membership else 0,
    }
    if has_permission(membership, Perm.ORDER_READ):
        context.update(_day(request, membership))
    return render(request, "etanche/home.html", context)


DAY_PAGE = 25
STATUSES = [(s.value, s.label) for s in Status]


def _day(request, membership) -> dict:
    """Today's requests, filtered (status, urgent) and paged; names only on request
    (?noms=1) by a role that may read records, each name shown journaled as a read."""
    rows = orders_of_day(membership.lab)
    status = request.GET.get("etat") or ""
    if status in dict(STATUSES):
        rows = rows.filter(status=status)
    urgent = request.GET.get("urgent") == "1"
    if urgent:
        rows = rows.filter(urgent=True)
    page = Paginator(rows, DAY_PAGE).get_page(request.GET.get("page"))
    may_name = has_permission(membership, Perm.PATIENT_READ)
    names = {}
    if may_name and request.GET.get("noms") == "1":
        names = orders.names_for_day(membership.lab, request.user, list(page.object_list),
                                     purpose=purpose_for(request, "liste des demandes du jour"))
    for order in page.object_list:
        order.patient_name = names.get(order.patient_id, "")
    query = {k: v for k, v in (("etat", status), ("urgent", "1" if urgent else "")) if v}
    return {"orders": page.object_list, "page": page, "statuses": STATUSES,
            "status": status, "urgent": urgent, "may_name": may_name,
            "names_shown": bool(names), "query": urlencode(query),
            "total": page.paginator.count}
