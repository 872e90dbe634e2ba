from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@require_GET
@login_not_required
@never_cache
def healthz(request):
    """Liveness for a load balancer: says nothing about the lab or its data."""
    return HttpResponse("ok\n", content_type="text/plain")


@require_GET
def home(request):
    return render(request, "etanche/home.html")
