"""Lockout and throttling of failed logins, per account and per client address.

CNIL deliberation 2022-100, case 2, asks for a restriction of access after
repeated failures; this is what lets the password policy ask 50 bits instead
of 80. Counters are keyed by an HMAC of the username or the address with the
secret key: the table says who is locked to no one who reads it.
See docs/adr/0003-own-lockout-model.md for why this is not django-axes.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from etanche.accounts.models import FailureCounter
from etanche.vault import instance

Kind = FailureCounter.Kind


def counter_key(kind: str, value: str) -> str:
    normalised = value.strip().lower() if kind == Kind.ACCOUNT else value.strip()
    message = f"etanche.lockout.{kind}:{normalised}".encode()
    return instance.counter_digest(message)


def _limit(kind: str) -> int:
    if kind == Kind.ACCOUNT:
        return settings.ETANCHE_LOCKOUT_FAILURES
    return settings.ETANCHE_LOCKOUT_ADDRESS_FAILURES


def _window() -> timedelta:
    return timedelta(minutes=settings.ETANCHE_LOCKOUT_MINUTES)


@dataclass(frozen=True)
class Block:
    kind: str
    until: object

    @property
    def message(self) -> str:
        until = timezone.localtime(self.until).strftime("%H:%M")
        if self.kind == Kind.ACCOUNT:
            return (
                "Trop d'échecs de connexion : ce compte est verrouillé jusqu'à "
                f"{until}. Un administrateur du laboratoire peut le déverrouiller."
            )
        return (
            "Trop d'échecs de connexion depuis ce poste : réessayez après "
            f"{until} ou contactez l'administrateur du laboratoire."
        )


def current_block(username: str, address: str | None) -> Block | None:
    """The lock that refuses this attempt now, if any (checked before the password)."""
    now = timezone.now()
    keys = [(Kind.ACCOUNT, counter_key(Kind.ACCOUNT, username))]
    if address:
        keys.append((Kind.ADDRESS, counter_key(Kind.ADDRESS, address)))
    for kind, key in keys:
        counter = FailureCounter.objects.filter(kind=kind, key=key).first()
        if counter and counter.locked_until and counter.locked_until > now:
            return Block(kind=kind, until=counter.locked_until)
    return None


def _bump(kind: str, key: str, now) -> bool:
    """Count one failure; return True when this failure starts a lock."""
    counter, _ = FailureCounter.objects.select_for_update().get_or_create(
        kind=kind, key=key, defaults={"window_start": now}
    )
    if counter.window_start + _window() < now or (
        counter.locked_until and counter.locked_until <= now
    ):
        counter.failures, counter.window_start, counter.locked_until = 0, now, None
    counter.failures += 1
    started = False
    if counter.failures >= _limit(kind) and not counter.locked_until:
        counter.locked_until = now + _window()
        started = True
    counter.save()
    return started


def register_failure(username: str, address: str | None) -> list[str]:
    """Count a failed attempt; return the kinds of lock it started (for the journal)."""
    now = timezone.now()
    started = []
    with transaction.atomic():
        if username:
            if _bump(Kind.ACCOUNT, counter_key(Kind.ACCOUNT, username), now):
                started.append(Kind.ACCOUNT)
        if address:
            if _bump(Kind.ADDRESS, counter_key(Kind.ADDRESS, address), now):
                started.append(Kind.ADDRESS)
    return started


def register_success(username: str) -> None:
    # Only the account counter: an address shared by a whole site keeps its count.
    FailureCounter.objects.filter(
        kind=Kind.ACCOUNT, key=counter_key(Kind.ACCOUNT, username)
    ).delete()


def is_locked(username: str) -> bool:
    block = current_block(username, None)
    return block is not None


def unlock(username: str) -> bool:
    deleted, _ = FailureCounter.objects.filter(
        kind=Kind.ACCOUNT, key=counter_key(Kind.ACCOUNT, username)
    ).delete()
    return bool(deleted)
