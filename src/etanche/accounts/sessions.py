"""Session records: who is logged in where, ended everywhere on demand, shared use flagged.

The web layer (etanche.web.sessions) keeps the markers inside Django's session;
these functions work on the records alone, so services and commands can end a
user's sessions without an HTTP request. They take session keys as the
browser holds them; the records and the sessions keep only their digest
(accounts.session_store.stored_key), so a copy of the tables is no cookie.
"""

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from etanche.accounts.audit import journal
from etanche.accounts.models import Membership, SessionRecord, SharedUseFlag
from etanche.accounts.session_store import HashedSession, stored_key


def record_of(session_key: str | None):
    """The live record of the session whose key is `session_key`, if any."""
    if not session_key:
        return SessionRecord.objects.none()
    return SessionRecord.objects.filter(session_key=stored_key(session_key),
                                        ended_at__isnull=True)


def end_session(session_key: str | None) -> None:
    record_of(session_key).update(ended_at=timezone.now())



def live_sessions(user):
    return SessionRecord.objects.filter(user=user, ended_at__isnull=True)



def end_all_sessions(user, *, keep: str | None = None) -> int:
    """Log `user` out everywhere (except the session `keep`); return how many ended."""
    with transaction.atomic():
        kept = stored_key(keep) if keep else ""
        keys = list(live_sessions(user).exclude(session_key=kept)
                    .values_list("session_key", flat=True))
        # Records and sessions share the digest: no key is needed to end one.
        HashedSession.objects.filter(session_key__in=keys).delete()
        SessionRecord.objects.filter(session_key__in=keys).update(ended_at=timezone.now())
    return len(keys)



def detect_shared_use(record: SessionRecord) -> list[SharedUseFlag]:
    """Flag other live sessions of the same account used from elsewhere right now."""
    window = timedelta(minutes=settings.ETANCHE_SHARED_USE_WINDOW_MINUTES)
    since = record.last_seen_at - window
    others = (
        SessionRecord.objects.filter(user_id=record.user_id, ended_at__isnull=True,
                                     last_seen_at__gte=since)
        .exclude(pk=record.pk)
    )
    flags = []
    for other in others:
        if other.address == record.address and other.user_agent == record.user_agent:
            continue
        first, second = sorted((other, record), key=lambda r: r.pk)
        if SharedUseFlag.objects.filter(first_session=first, second_session=second).exists():
            continue
        try:
            with transaction.atomic():
                flag = SharedUseFlag.objects.create(
                    user_id=record.user_id, first_session=first, second_session=second,
                    detected_at=timezone.now(), first_address=first.address,
                    second_address=second.address,
                    same_user_agent=first.user_agent == second.user_agent,
                )
        except IntegrityError:  # the other request flagged the same pair first
            continue
        _journal_shared_use(flag)
        flags.append(flag)
    return flags



def _journal_shared_use(flag: SharedUseFlag) -> None:
    memberships = Membership.objects.filter(user_id=flag.user_id, is_active=True)
    detail = {"same_address": flag.first_address == flag.second_address,
              "same_user_agent": flag.same_user_agent}
    for membership in memberships.select_related("lab", "user"):
        journal("SHARED_USE", lab=membership.lab, user=membership.user,
                object_type="accounts.User", object_id=flag.user_id, detail=detail)



def rekey(old_key: str | None, new_key: str | None) -> None:
    """Follow a session whose key was cycled (after a password change)."""
    if old_key and new_key and old_key != new_key:
        SessionRecord.objects.filter(session_key=stored_key(old_key)).update(
            session_key=stored_key(new_key))
