"""The upload handler of the import page: the file is encrypted as it arrives.

Listed in FILE_UPLOAD_HANDLERS before Django's own. For any other URL it steps aside.
For the import page's upload by a member with the import permission and a fresh
re-authentication, each chunk goes into the job's age stream (imports.jobs.receive,
vault.uploads) and `UploadedImport` names the job: Django never keeps the file in
memory past a chunk nor writes it to a temporary file. Anyone else's chunks are dropped.
"""

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopFutureHandlers, StopUpload
from django.urls import reverse

from etanche.accounts.permissions import Perm, has_permission
from etanche.imports import jobs
from etanche.web import sessions


class UploadedImport(UploadedFile):
    def __init__(self, job, writer):
        super().__init__(file=None, name="fichier", content_type="application/octet-stream",
                         size=writer.size)
        self.job, self.writer = job, writer

    def close(self):
        """End of the request: a writer still open (an interrupted upload) is closed."""


class ImportUploadHandler(FileUploadHandler):
    def __init__(self, request=None):
        super().__init__(request)
        self.mine = False
        self.job = self.writer = None
        self.limit = settings.ETANCHE_IMPORT_MAX_UPLOAD_MB * 1024 * 1024

    def new_file(self, field_name, file_name, *args, **kwargs):
        super().new_file(field_name, file_name, *args, **kwargs)
        self.mine = self.request is not None and self.request.path == reverse("import_list")
        if not self.mine:
            return
        membership = getattr(self.request, "membership", None)
        kind = self.request.GET.get("kind", "patients")
        if (field_name == "file" and self.writer is None and kind in jobs.KINDS
                and has_permission(membership, Perm.IMPORT_RUN)
                and sessions.has_sudo(self.request.session)):
            self.job, self.writer = jobs.receive(membership.lab, self.request.user, kind)
            raise StopFutureHandlers
        # Anyone else, or a second file: every chunk is dropped here.

    def receive_data_chunk(self, raw_data, start):
        if not self.mine:
            return raw_data
        if self.writer is not None:
            if start + len(raw_data) > self.limit:
                self.upload_interrupted()
                raise StopUpload(connection_reset=True)
            self.writer.write(raw_data)
        return None

    def file_complete(self, file_size):
        if not self.mine or self.writer is None:
            return None
        self.writer.close()
        return UploadedImport(self.job, self.writer)

    def upload_interrupted(self):
        if self.writer is not None:
            self.writer.close()
            jobs.abandon(self.job, self.request.user)
            self.job = self.writer = None
