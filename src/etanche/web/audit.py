"""The last self-audit of the installation (`etanche audit`), for the lab admin and DPO.

The report is the installation's, not a lab's: it names files, variables and process
ids, never a value found, and no patient.
"""

from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from etanche.accounts.permissions import Perm
from etanche.lib import audit_report
from etanche.web.decorators import require_permission


@require_GET
@require_permission(Perm.AUDIT_READ)
@never_cache
def audit_last(request):
    return render(request, "audit/last.html", {"report": audit_report.load()})
