"""The worker's side of a web import (imports.tasks): propose, run, destroy.

See imports.jobs for the whole flow. Reads the upload decrypted through a pipe
(vault.uploads), never on disk.
"""

import re
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from etanche.exports.crypto import destroy as destroy_file
from etanche.imports import fields as F
from etanche.imports import services
from etanche.imports.mapping import MappingError
from etanche.imports.models import ImportJob, JobStatus
from etanche.imports.requests import import_requests
from etanche.tabular.readers import TabularError
from etanche.vault import uploads

PREVIEW_ROWS = 20
KINDS = ("patients", "requests")
NAMES = {"birth_name", "used_name", "first_names", "used_first_name", "city", "street",
         "physician_name", "prescriber_name", "amc_insurer", "notes"}


def imports_dir() -> Path:
    path = Path(settings.DATA_DIR) / "imports"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def path_of(job: ImportJob) -> Path:
    return imports_dir() / job.file_name


def mask(name: str, value: str) -> str:
    """Enough to recognise a column, not a person: initials, the last two digits."""
    value = (value or "").strip()
    if not value:
        return ""
    if name in NAMES or not any(c.isdigit() for c in value):
        words = re.split(r"[\s,-]+", value)
        return " ".join(w[:1].upper() + "." for w in words if w)[:20]
    digits = [i for i, c in enumerate(value) if c.isdigit()]
    keep = set(digits[-2:])
    return "".join(c if i in keep or not c.isalnum() else "•" for i, c in enumerate(value))


def _opener(job: ImportJob):
    identity = job.get_sealed()["identity"]
    path = path_of(job)
    return lambda: uploads.open_decrypted(path, identity)


def fail(job: ImportJob, message: str) -> None:
    job.status, job.error, job.updated_at = JobStatus.FAILED, message[:300], timezone.now()
    job.save(update_fields=["status", "error", "updated_at"])
    destroy(job)


def propose(job: ImportJob) -> None:
    """The worker's first step: read the first rows, propose the mapping, mask a preview."""
    try:
        plan = services.plan(_opener(job), job.kind)
    except (TabularError, MappingError, services.ImportRefused) as exc:
        fail(job, str(exc))
        return
    columns = list(plan.mapping.columns.items()) if plan.mapping else []
    preview = [[mask(name, row.get(column, "")) for column, name in columns]
               for row in plan.sample[:PREVIEW_ROWS]]
    sealed = job.get_sealed()
    derived = [F.LABELS.get(n, n) for n in plan.mapping.derived] if plan.mapping else []
    sealed.update(mapping=[[c, n, F.LABELS.get(n, n), plan.mapping.why.get(c, "")]
                           for c, n in columns], preview=preview, facts=plan.facts(),
                  derived=derived)
    job.set_sealed(sealed)
    job.status, job.updated_at = JobStatus.PROPOSED, timezone.now()
    job.save()


def run(job: ImportJob, user) -> None:
    """The worker's second step; the file is destroyed after a real run, whatever its end."""

    def progress(stage: str, done: int) -> None:
        ImportJob.objects.filter(pk=job.pk).update(stage=stage, progress=done,
                                                   updated_at=timezone.now())

    try:
        plan = services.plan(_opener(job), job.kind)
        runner = services.import_patients if job.kind == "patients" else import_requests
        report = runner(job.lab, user, _opener(job), plan, dry_run=job.dry_run,
                        accept_valid=job.accept_valid, progress=progress, via="web",
                        sha=job.file_sha256)
    except (TabularError, MappingError, services.ImportRefused) as exc:
        fail(job, str(exc))
        return
    job.refresh_from_db()
    job.report = {**report.counts(), **report.as_json()}  # the lists, not their counts
    job.status, job.updated_at = JobStatus.DONE, timezone.now()
    job.save(update_fields=["report", "status", "updated_at"])
    if report.written:
        destroy(job)


def destroy(job: ImportJob) -> None:
    """The file, then the key that opens it (the sealed identity)."""
    if job.file_name:
        destroy_file(path_of(job))
    sealed = job.get_sealed()
    sealed["identity"] = ""
    job.set_sealed(sealed)
    job.file_name = ""
    job.save()


