"""Server-side sessions that keep only a keyed hash of their key (SESSION_ENGINE).

Django's database backend stores the session key, the very value of the
cookie, in clear: a read-only copy of the database was a list of live
sessions. Here the row is found by vault.instance.session_digest(key) and
holds nothing else of the key, so a copy yields no usable cookie (issue 16).
Only the documented points of the db backend are overridden: the model
(get_model_class), the row built for a save (create_model_instance), and the
store's public load / exists / delete; every lookup goes through the digest.
"""

from django.contrib.sessions.backends.db import SessionStore as DatabaseStore
from django.contrib.sessions.base_session import AbstractBaseSession
from django.core.exceptions import SuspiciousOperation
from django.db import models
from django.utils import timezone

from etanche.lib.personal_data import Protection as P
from etanche.vault import instance


def stored_key(session_key: str) -> str:
    """The form a session key takes in the database (and in the session records)."""
    return instance.session_digest(session_key)


class HashedSession(AbstractBaseSession):
    # A hex HMAC-SHA256: longer than the 40 characters of Django's key column.
    session_key = models.CharField("clé de session (empreinte)", max_length=64,
                                   primary_key=True)

    PERSONAL_DATA = {"session_key": P.HASHED, "session_data": P.PSEUDONYMOUS,
                     "expire_date": P.NONE}

    class Meta(AbstractBaseSession.Meta):
        app_label = "accounts"
        db_table = "accounts_session"

    @classmethod
    def get_session_store_class(cls):
        return SessionStore


class SessionStore(DatabaseStore):
    @classmethod
    def get_model_class(cls):
        return HashedSession

    def _live(self):
        return self.model.objects.filter(session_key=stored_key(self.session_key),
                                         expire_date__gt=timezone.now())

    def load(self):
        try:
            row = self._live().get()
        except (self.model.DoesNotExist, SuspiciousOperation):
            # A key the database does not know is dropped, never adopted (as Django's
            # own load does): the next save makes a new one, so no cookie chooses its key.
            self.flush()
            return {}
        return self.decode(row.session_data)

    async def aload(self):
        try:
            row = await self._live().aget()
        except (self.model.DoesNotExist, SuspiciousOperation):
            await self.aflush()
            return {}
        return self.decode(row.session_data)

    def exists(self, session_key):
        return self.model.objects.filter(session_key=stored_key(session_key)).exists()

    async def aexists(self, session_key):
        return await self.model.objects.filter(session_key=stored_key(session_key)).aexists()

    def create_model_instance(self, data):
        row = super().create_model_instance(data)
        row.session_key = stored_key(row.session_key)
        return row

    async def acreate_model_instance(self, data):
        row = await super().acreate_model_instance(data)
        row.session_key = stored_key(row.session_key)
        return row

    def delete(self, session_key=None):
        key = self.session_key if session_key is None else session_key
        if key is not None:
            self.model.objects.filter(session_key=stored_key(key)).delete()

    async def adelete(self, session_key=None):
        key = self.session_key if session_key is None else session_key
        if key is not None:
            await self.model.objects.filter(session_key=stored_key(key)).adelete()
