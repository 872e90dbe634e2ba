"""Session life: login markers, idle and absolute expiry, sudo mode, shared-use detection.

Django's own session expiry (SESSION_COOKIE_AGE, saved on every request)
already ends an idle session; the markers here add the absolute limit of one
working day, make idle expiry independent of the session backend, and let a
user see and end their sessions everywhere.
"""

import time
from datetime import timedelta

from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import IntegrityError, transaction
from django.utils import timezone

from etanche.accounts.models import SessionRecord, SharedUseFlag

LOGIN_AT = "accounts.login_at"
LAST_SEEN = "accounts.last_seen"
SUDO_AT = "accounts.sudo_at"
# How often a live session's record is refreshed: often enough for shared-use
# detection, rarely enough not to write on every request.
TOUCH_EVERY_SECONDS = 60


def client_address(request) -> str | None:
    # Behind the TLS proxy SecurityMiddleware trusts X-Forwarded-Proto only;
    # REMOTE_ADDR is what gunicorn sees. A proxy that sets it is configured there.
    return request.META.get("REMOTE_ADDR") or None


def client_agent(request) -> str:
    return request.META.get("HTTP_USER_AGENT", "")[:200]


def open_session(request, user) -> SessionRecord:
    """Mark the session as fully logged in (password + TOTP) and record it."""
    now = timezone.now()
    request.session[LOGIN_AT] = time.time()
    request.session[LAST_SEEN] = time.time()
    if request.session.session_key is None:
        request.session.save()
    record, _ = SessionRecord.objects.update_or_create(
        session_key=request.session.session_key,
        defaults={
            "user": user, "address": client_address(request),
            "user_agent": client_agent(request), "started_at": now, "last_seen_at": now,
            "ended_at": None,
        },
    )
    detect_shared_use(record)
    return record


def expired_reason(session) -> str | None:
    """Why this session must end now ('idle' or 'max_age'), or None."""
    now = time.time()
    login_at = session.get(LOGIN_AT)
    last_seen = session.get(LAST_SEEN)
    if login_at is None or last_seen is None:
        return "ended"
    if now - last_seen > settings.SESSION_COOKIE_AGE:
        return "idle"
    if now - login_at > settings.ETANCHE_SESSION_MAX_HOURS * 3600:
        return "max_age"
    return None


def touch(request) -> None:
    now = time.time()
    previous = request.session.get(LAST_SEEN, 0)
    request.session[LAST_SEEN] = now
    if now - previous < TOUCH_EVERY_SECONDS:
        return
    record = SessionRecord.objects.filter(
        session_key=request.session.session_key, ended_at__isnull=True
    ).first()
    if record:
        record.last_seen_at = timezone.now()
        record.address = client_address(request)
        record.save(update_fields=["last_seen_at", "address"])
        detect_shared_use(record)


def record_is_live(request) -> bool:
    """A fully logged-in session whose record was ended elsewhere is dead."""
    return SessionRecord.objects.filter(
        session_key=request.session.session_key, ended_at__isnull=True
    ).exists()


def end_session(session_key: str | None) -> None:
    if session_key:
        SessionRecord.objects.filter(session_key=session_key, ended_at__isnull=True).update(
            ended_at=timezone.now()
        )


def live_sessions(user):
    return SessionRecord.objects.filter(user=user, ended_at__isnull=True)


def end_all_sessions(user, *, keep: str | None = None) -> int:
    """Log `user` out everywhere (except the session `keep`); return how many ended."""
    with transaction.atomic():
        records = list(live_sessions(user).exclude(session_key=keep or ""))
        keys = [r.session_key for r in records]
        Session.objects.filter(session_key__in=keys).delete()
        SessionRecord.objects.filter(session_key__in=keys).update(ended_at=timezone.now())
    return len(keys)


def grant_sudo(session) -> None:
    session[SUDO_AT] = time.time()


def has_sudo(session) -> bool:
    granted = session.get(SUDO_AT)
    return granted is not None and time.time() - granted <= settings.ETANCHE_SUDO_MINUTES * 60


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
    from etanche.accounts.audit import journal
    from etanche.accounts.models import Membership

    memberships = Membership.objects.filter(user_id=flag.user_id, is_active=True)
    detail = {"same_address": flag.first_address == flag.second_address,
              "same_user_agent": flag.same_user_agent}
    for membership in memberships.select_related("lab", "user"):
        journal("SHARED_USE", lab=membership.lab, user=membership.user,
                object_type="accounts.User", object_id=flag.user_id, detail=detail)


def rekey(old_key: str | None, new_key: str | None) -> None:
    """Follow a session whose key was cycled (after a password change)."""
    if old_key and new_key and old_key != new_key:
        SessionRecord.objects.filter(session_key=old_key).update(session_key=new_key)
