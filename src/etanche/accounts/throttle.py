"""Throttling of failed logins: growing waits per account, per place and per address.

CNIL deliberation 2022-100, case 2, asks for a restriction of access after
repeated failures (a delay is one); it is what lets the password policy ask 50
bits instead of 80. Nothing is ever locked (issue 16, item 5: a lock let anyone
shut a named person out): after a few free failures, each further attempt of a
scope waits twice as long as the last, up to ETANCHE_THROTTLE_MAX_SECONDS. A
browser or an address the account completed a full login from answers only for
its own failures, so guessing elsewhere does not hold the person up.

Scopes (FailureCounter.Kind), each keyed by an HMAC so the table names no one:
- account: the username, from any place the account does not know;
- pair: the account from one address, or from one known browser;
- address: every username tried from one address;
- all: the instance, counted for bursts only.

Public API, for every page that checks a password or a code (login, TOTP step,
re-authentication, password change):
    check(username, address, device=None) -> Wait | None    before checking anything
    failed(username, address, device=None) -> Failure       after a wrong password or code
    refused(username, address, device=None) -> Refusal     after check() refused
    succeeded(user, address, device=None)                  after a full login
    is_throttled(username), unlock(username), unlock_address(address)
`device` is the random token of the browser's signed cookie (web/login.py).
See docs/accounts.md and docs/adr/0003-own-lockout-model.md.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from etanche.accounts.models import FailureCounter, KnownClient, User
from etanche.vault import instance

Kind = FailureCounter.Kind
KNOWN_CLIENTS_KEPT = 20  # per account and kind: a person's browsers and workplaces
_HALF = 32  # a pair key is half the account's digest and half the place's


def _digest(label: str, value: str) -> str:
    return instance.counter_digest(f"etanche.lockout.{label}:{value}".encode())


def _account(username: str) -> str:
    # Case and spaces do not make another account to guess against.
    return _digest(Kind.ACCOUNT, (username or "").strip().lower())


def _place(address: str | None) -> str:
    return _digest(Kind.ADDRESS, (address or "-").strip())


def _browser(device: str) -> str:
    return _digest("device", device)


def _user_id(username: str) -> int | None:
    return (User.objects.filter(username__iexact=(username or "").strip())
            .values_list("pk", flat=True).first())


def _scopes(username: str, address: str | None, device: str | None) -> list[tuple[str, str]]:
    account = _account(username)
    user_id = _user_id(username)
    if user_id is not None:
        known = KnownClient.objects.filter(user_id=user_id)
        if device and known.filter(kind=KnownClient.Kind.DEVICE, key=_browser(device)).exists():
            return [(Kind.PAIR, account[:_HALF] + _browser(device)[:_HALF])]
        if address and known.filter(kind=KnownClient.Kind.ADDRESS, key=_place(address)).exists():
            return [(Kind.PAIR, account[:_HALF] + _place(address)[:_HALF])]
    return [(Kind.ACCOUNT, account), (Kind.PAIR, account[:_HALF] + _place(address)[:_HALF]),
            (Kind.ADDRESS, _place(address))]


_ALL = (Kind.ALL, "all")


def _free_failures(kind: str) -> int | None:
    if kind in (Kind.ACCOUNT, Kind.PAIR):
        return settings.ETANCHE_THROTTLE_ACCOUNT_FAILURES
    if kind == Kind.ADDRESS:
        return settings.ETANCHE_THROTTLE_ADDRESS_FAILURES
    return None


def _burst_threshold(kind: str) -> int | None:
    if kind == Kind.ALL:
        return settings.ETANCHE_LOGIN_BURST_ALL_FAILURES
    # A pair's burst is its account's burst: one entry, not two.
    return None if kind == Kind.PAIR else settings.ETANCHE_LOGIN_BURST_FAILURES


def _window() -> timedelta:
    return timedelta(minutes=settings.ETANCHE_LOGIN_BURST_MINUTES)


def delay_seconds(beyond: int) -> int:
    """The wait after the `beyond`-th failure past the free ones (1: 2 s, 2: 4 s...)."""
    return min(2 ** min(beyond, 30), settings.ETANCHE_THROTTLE_MAX_SECONDS)


@dataclass(frozen=True)
class Wait:
    kind: str
    until: object

    @property
    def message(self) -> str:
        left = max(1, round((self.until - timezone.now()).total_seconds()))
        when = f"{left} s" if left < 60 else f"{-(-left // 60)} min"
        if self.kind == Kind.ADDRESS:
            return (f"Trop d'échecs de connexion depuis ce poste : réessayez dans {when}, "
                    "ou contactez l'administrateur du laboratoire.")
        return (f"Trop d'échecs de connexion pour ce compte : réessayez dans {when}. "
                "Depuis un poste où vous vous êtes déjà connecté, la connexion reste "
                "possible ; un administrateur du laboratoire peut lever l'attente.")


@dataclass(frozen=True)
class Burst:
    scope: str
    attempts: int
    minutes: int


@dataclass
class Failure:
    """What one failure changed: the waits it started, the bursts it crossed, the wait
    now in force, and, for an attempt on no account, the count to journal now (None:
    folded into the next entry of this address)."""

    started: list[str] = field(default_factory=list)
    bursts: list[Burst] = field(default_factory=list)
    wait: Wait | None = None
    report: int | None = None


@dataclass
class Refusal:
    """A refused attempt: the bursts it crossed and the count to journal now, if any."""

    bursts: list[Burst] = field(default_factory=list)
    report: int | None = None


def _rows(scopes, now) -> list[FailureCounter]:
    rows = []
    for kind, key in scopes:
        row, _ = FailureCounter.objects.select_for_update().get_or_create(
            kind=kind, key=key, defaults={"window_start": now})
        rows.append(row)
    return rows


def _wait_of(rows, now) -> Wait | None:
    waits = [Wait(row.kind, row.wait_until) for row in rows
             if row.kind != Kind.ALL and row.wait_until and row.wait_until > now]
    return max(waits, key=lambda w: w.until, default=None)


def _count_burst(row: FailureCounter, now) -> Burst | None:
    if row.burst_start is None or row.burst_start <= now - _window():
        row.burst_start, row.burst_attempts = now, 0
    row.burst_attempts += 1
    threshold = _burst_threshold(row.kind)
    if threshold is not None and row.burst_attempts == threshold:
        return Burst(row.kind, row.burst_attempts, settings.ETANCHE_LOGIN_BURST_MINUTES)
    return None


def _fold(row: FailureCounter, now) -> int | None:
    """Count one attempt to journal; return the count to write now (one entry per row and
    window) or None when it waits for the next entry."""
    row.unreported += 1
    if row.reported_at is not None and row.reported_at > now - _window():
        return None
    count, row.unreported, row.reported_at = row.unreported, 0, now
    return count


def check(username: str, address: str | None, device: str | None = None) -> Wait | None:
    """The wait that refuses this attempt now, if any: before the password is checked."""
    now = timezone.now()
    waits = [Wait(row.kind, row.wait_until)
             for row in FailureCounter.objects.filter(wait_until__gt=now).filter(
                 key__in=[key for _, key in _scopes(username, address, device)])
             if row.kind != Kind.ALL]
    return max(waits, key=lambda w: w.until, default=None)


def failed(username: str, address: str | None, device: str | None = None) -> Failure:
    """Count a wrong password or code in each scope of this attempt."""
    now = timezone.now()
    forget = now - timedelta(hours=settings.ETANCHE_THROTTLE_FORGET_HOURS)
    outcome = Failure()
    with transaction.atomic():
        scopes = _scopes(username, address, device)
        rows = _rows([*scopes, _ALL], now)
        for row in rows:
            if row.last_failure_at and row.last_failure_at < forget:
                row.failures, row.window_start, row.wait_until = 0, now, None
            row.failures += 1
            row.last_failure_at = now
            free = _free_failures(row.kind)
            if free is not None and row.failures >= free:
                # A pair's wait is news only from a known place (else its account's is).
                if row.failures == free and (row.kind != Kind.PAIR or len(scopes) == 1):
                    outcome.started.append(row.kind)
                row.wait_until = now + timedelta(seconds=delay_seconds(row.failures - free + 1))
            burst = _count_burst(row, now)
            if burst:
                outcome.bursts.append(burst)
        if _user_id(username) is None:
            outcome.report = _fold(next(r for r in rows if r.kind == Kind.ADDRESS), now)
        for row in rows:
            row.save()
        outcome.wait = _wait_of(rows, now)
    return outcome


def refused(username: str, address: str | None, device: str | None, wait: Wait) -> Refusal:
    """Count an attempt check() refused with `wait`: towards bursts, and folded into one
    journal entry per waiting scope and window (400 refused posts are not 400 entries).

    The scope is the one check() found waiting, not one waiting now: on a slow machine the
    wait may end between the two calls, and the attempt must still be counted."""
    now = timezone.now()
    outcome = Refusal()
    with transaction.atomic():
        rows = _rows([*_scopes(username, address, device), _ALL], now)
        for row in rows:
            burst = _count_burst(row, now)
            if burst:
                outcome.bursts.append(burst)
        outcome.report = _fold(next(r for r in rows if r.kind == wait.kind), now)
        for row in rows:
            row.save()
    return outcome


def succeeded(user, address: str | None, device: str | None = None) -> None:
    """A full login: clear the scopes this place answered for; remember the place."""
    scopes = _scopes(user.username, address, device)
    keys = [key for kind, key in scopes if kind != Kind.ADDRESS]
    now = timezone.now()
    with transaction.atomic():
        # An address shared by a whole site keeps its count.
        FailureCounter.objects.filter(key__in=keys).exclude(kind=Kind.ADDRESS).delete()
        for kind, value in ((KnownClient.Kind.DEVICE, device and _browser(device)),
                            (KnownClient.Kind.ADDRESS, address and _place(address))):
            if not value:
                continue
            KnownClient.objects.update_or_create(user=user, kind=kind, key=value,
                                                 defaults={"last_login_at": now})
            stale = (KnownClient.objects.filter(user=user, kind=kind)
                     .order_by("-last_login_at").values_list("pk", flat=True)
                     [KNOWN_CLIENTS_KEPT:])
            KnownClient.objects.filter(pk__in=list(stale)).delete()


def is_throttled(username: str) -> bool:
    """Whether attempts on this account from places it does not know wait now."""
    return FailureCounter.objects.filter(kind=Kind.ACCOUNT, key=_account(username),
                                         wait_until__gt=timezone.now()).exists()


def unlock(username: str) -> bool:
    """Lift every wait of the account, from any place (the lab admin's action)."""
    account = _account(username)
    deleted, _ = (FailureCounter.objects.filter(kind=Kind.ACCOUNT, key=account)
                  | FailureCounter.objects.filter(kind=Kind.PAIR,
                                                  key__startswith=account[:_HALF])).delete()
    return bool(deleted)


def unlock_address(address: str) -> bool:
    """Lift the wait of an address and of every account tried from it."""
    place = _place(address)
    deleted, _ = (FailureCounter.objects.filter(kind=Kind.ADDRESS, key=place)
                  | FailureCounter.objects.filter(kind=Kind.PAIR,
                                                  key__endswith=place[:_HALF])).delete()
    return bool(deleted)
