"""The upload handler of the breach page: a leaked file is sealed as it arrives.

Listed first in FILE_UPLOAD_HANDLERS. For any other URL, or for someone without the breach
permission, it steps aside (chunks pass on to Django's own handlers, or are dropped for the
breach URL), so nothing else changes. For the DPO's upload it seals each chunk under the
lab's keys (breach/spool.py) and returns a `SpooledLeak`: Django never writes the clear file
to a temporary file. The sealed spool is deleted when the request ends, unless the view
handed it to a scan job (`keep`), which deletes it after the worker's scan.
"""

from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopFutureHandlers
from django.urls import reverse

from etanche.accounts.permissions import Perm, has_permission
from etanche.breach.spool import SealedSpool


class SpooledLeak(UploadedFile):
    """What the view receives: the sealed spool; closing it (end of request) deletes it,
    unless it was kept for the worker."""

    def __init__(self, spool: SealedSpool, name: str):
        super().__init__(file=None, name="fichier", content_type="application/octet-stream",
                         size=spool.size)
        self.spool = spool
        self.original_name_length = len(name or "")
        self.kept = False

    def keep(self) -> None:
        """A job now owns the spool (breach.jobs): the request's end leaves it."""
        self.kept = True

    def close(self):
        if not self.kept:
            self.spool.delete()


class SealingUploadHandler(FileUploadHandler):
    def __init__(self, request=None):
        super().__init__(request)
        self.spool = None
        self.mine = False

    def _is_breach_upload(self) -> bool:
        return self.request is not None and self.request.path == reverse("breach_upload")

    def new_file(self, field_name, file_name, *args, **kwargs):
        super().new_file(field_name, file_name, *args, **kwargs)
        self.mine = self._is_breach_upload()
        if not self.mine:
            return
        membership = getattr(self.request, "membership", None)
        if field_name == "file" and has_permission(membership, Perm.BREACH_MANAGE):
            self.spool = SealedSpool(membership.lab)
            raise StopFutureHandlers  # the other handlers never see this upload
        # Anyone else: every chunk is dropped here, the next handlers get an empty file.

    def receive_data_chunk(self, raw_data, start):
        if not self.mine:
            return raw_data
        if self.spool is not None:
            self.spool.write(raw_data)
        return None

    def file_complete(self, file_size):
        if not self.mine or self.spool is None:
            return None
        self.spool.finish()
        return SpooledLeak(self.spool, self.file_name)

    def upload_interrupted(self):
        if self.spool is not None:
            self.spool.delete()
