"""Session life in the browser: login markers, idle and absolute expiry, sudo mode.

Django's own session expiry (SESSION_COOKIE_AGE, saved on every request)
already ends an idle session; the markers here add the absolute limit of one
working day and make idle expiry independent of the session backend. The
records behind them (live sessions, shared use) are etanche.accounts.sessions.
"""

import ipaddress
import time

from django.conf import settings
from django.utils import timezone

from etanche.accounts.models import SessionRecord
from etanche.accounts.session_store import stored_key
from etanche.accounts.sessions import detect_shared_use, record_of

LOGIN_AT = "accounts.login_at"
LAST_SEEN = "accounts.last_seen"
SUDO_AT = "accounts.sudo_at"
# How often a live session's record is refreshed: often enough for shared-use
# detection, rarely enough not to write on every request.
TOUCH_EVERY_SECONDS = 60


def _networks(listed: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(item, strict=False) for item in listed)


def _parsed(value: str):
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def client_address(request) -> str | None:
    """The client's address, the one throttling, sessions and shared-use detection use.

    REMOTE_ADDR, unless it is one of ETANCHE_TRUSTED_PROXIES: then the rightmost
    X-Forwarded-For hop that no trusted proxy added. Hops further left are written
    by the client itself and never believed; a garbled header leaves the proxy's own
    address (one place for all, which only slows those behind it).
    """
    remote = request.META.get("REMOTE_ADDR") or None
    trusted = _networks(tuple(settings.ETANCHE_TRUSTED_PROXIES))
    current = _parsed(remote or "")
    if current is None or not any(current in net for net in trusted):
        return remote
    for hop in reversed(request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")):
        current = _parsed(hop)
        if current is None:
            return remote
        if not any(current in net for net in trusted):
            return current.compressed
    return remote



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
        session_key=stored_key(request.session.session_key),
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



def touch(request) -> bool:
    """Note the activity of a live session and check its record, at most once per
    TOUCH_EVERY_SECONDS; False when the record is gone or was ended elsewhere.

    A request within that time of the last note changes nothing and sends no query, so
    the session is not written (SESSION_SAVE_EVERY_REQUEST is off): the idle timeout then
    runs from the last note, so a session may end up to that long early, never late.
    Revocation does not wait for the note: logging out, "everywhere" and every reset
    delete the session row itself (accounts.sessions), which the next request no longer
    finds; a record ended without its row is seen within TOUCH_EVERY_SECONDS."""
    now = time.time()
    previous = request.session.get(LAST_SEEN, 0)
    if now - previous < TOUCH_EVERY_SECONDS:
        return True
    record = record_of(request.session.session_key).first()
    if record is None:
        return False
    request.session[LAST_SEEN] = now
    record.last_seen_at = timezone.now()
    record.address = client_address(request)
    record.save(update_fields=["last_seen_at", "address"])
    detect_shared_use(record)
    return True



def grant_sudo(session) -> None:
    session[SUDO_AT] = time.time()



PENDING_ACTION = "etanche.sudo_pending"
PENDING_ACTION_SECONDS = 300


def remember_pending_action(session, path: str, back: str) -> None:
    session[PENDING_ACTION] = {"path": path, "back": back, "at": time.time()}


def pop_pending_action(session, back: str | None) -> str | None:
    """The path of the button posted before the re-authentication that returns to `back`,
    if recent; forgotten either way."""
    pending = session.pop(PENDING_ACTION, None)
    if (not pending or pending.get("back") != back
            or time.time() - pending.get("at", 0) > PENDING_ACTION_SECONDS):
        return None
    return pending.get("path")


def has_sudo(session) -> bool:
    granted = session.get(SUDO_AT)
    return granted is not None and time.time() - granted <= settings.ETANCHE_SUDO_MINUTES * 60
