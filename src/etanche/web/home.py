from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from etanche.accounts.permissions import Perm, has_permission
from etanche.orders.services import orders_of_day
from etanche.web.decorators import any_member
from etanche.web.menu import exports_awaiting


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
        context["orders"] = list(orders_of_day(membership.lab))
    return render(request, "etanche/home.html", context)
