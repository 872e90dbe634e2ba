"""Import pages (lab admin, fresh re-authentication): upload, proposed mapping, progress, report.

The upload is never on disk in clear: web/import_upload.py's handler (in
FILE_UPLOAD_HANDLERS, before Django's own) encrypts the chunks as they arrive
and hands the view the job. The worker proposes the mapping, the page shows it
on the first rows masked; the admin confirms, the worker imports.
"""

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from etanche.accounts.permissions import Perm
from etanche.imports import jobs, review
from etanche.imports.models import ImportJob, JobStatus
from etanche.imports.services import ImportRefused
from etanche.web.access import current_lab, get_object_for_user
from etanche.web.decorators import require_permission, sudo_required
from etanche.web.import_upload import UploadedImport


def _job(request, pk) -> ImportJob:
    return get_object_for_user(request, ImportJob.objects.select_related("lab", "requested_by"),
                               Perm.IMPORT_RUN, pk=pk)


@require_http_methods(["GET", "POST"])
@require_permission(Perm.IMPORT_RUN)
@sudo_required
@never_cache
def import_list(request):
    if request.method == "POST":
        upload = request.FILES.get("file")
        if not isinstance(upload, UploadedImport):
            messages.error(request, "Choisissez un fichier (CSV, XLSX, NDJSON, FHIR ; .gz ou "
                                    f".zip ; {settings.ETANCHE_IMPORT_MAX_UPLOAD_MB} Mio au "
                                    "plus).")
            return redirect("import_list")
        jobs.received(upload.job, upload.writer)
        return redirect("import_detail", pk=upload.job.pk)
    return render(request, "imports/list.html", {
        "jobs": jobs.jobs_of_lab(current_lab(request))[:100],
        "keep_hours": settings.ETANCHE_IMPORT_KEEP_HOURS})


@require_GET
@require_permission(Perm.IMPORT_RUN)
@sudo_required
@never_cache
def import_detail(request, pk):
    job = _job(request, pk)
    sealed = job.get_sealed()
    return render(request, "imports/detail.html", {
        "job": job, "mapping": sealed.get("mapping") or [], "preview": sealed.get("preview"),
        "facts": sealed.get("facts") or {}, "derived": sealed.get("derived") or [],
        "report": job.report,
        "waiting": job.status in (JobStatus.UPLOADED, JobStatus.RUNNING)})


@require_POST
@require_permission(Perm.IMPORT_RUN)
@sudo_required
def import_confirm(request, pk):
    job = _job(request, pk)
    try:
        jobs.confirm(job, request.user, dry_run=request.POST.get("dry_run") == "1",
                     accept_valid=request.POST.get("accept_valid") == "1")
    except ImportRefused as exc:
        messages.error(request, str(exc))
    return redirect("import_detail", pk=job.pk)


@require_POST
@require_permission(Perm.IMPORT_RUN)
@sudo_required
def import_abandon(request, pk):
    job = _job(request, pk)
    try:
        jobs.abandon(job, request.user)
        messages.success(request, "Import abandonné : le fichier et sa clé sont détruits.")
    except ImportRefused as exc:
        messages.error(request, str(exc))
    return redirect("import_detail", pk=job.pk)


@require_http_methods(["GET", "POST"])
@require_permission(Perm.IMPORT_RUN)
@sudo_required
@never_cache
def import_review(request):
    """Imported likely duplicates, masked; POST `record` clears one flag."""
    lab = current_lab(request)
    if request.method == "POST":
        try:
            review.clear(lab, request.user, int(request.POST.get("record") or 0))
            messages.success(request, "Signalement levé.")
        except (ValueError, review.ReviewNotFound):
            messages.error(request, "Ce signalement n'existe pas ou a déjà été levé.")
        return redirect("import_review")
    flagged, total = review.flagged(lab, request.user)
    return render(request, "imports/review.html", {"flagged": flagged, "total": total})
