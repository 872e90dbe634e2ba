"""The one persona base of the suite (healthchecks' BaseTestCase, as plain helpers).

Two labs, A and B, with one person per role in each, and an outsider who
belongs to no lab. Personas get an unusable password (Argon2id is slow on
purpose); tests of the login page give a real password to the one account
they log in with. The names are synthetic: common French first and last names.
"""

import base64
import hashlib
import hmac
import itertools
import struct
import time
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from django.contrib.auth import SESSION_KEY
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from stdnum import luhn

from etanche.accounts.models import Membership, Role, SealedTOTPDevice, SessionRecord, User
from etanche.accounts.session_store import stored_key
from etanche.journal.models import Entry
from etanche.ops.labs import create_lab
from etanche.web import sessions

ROLES = (Role.FRONTDESK, Role.BIOLOGIST, Role.LABADMIN, Role.DPO, Role.AUDITOR)
NAMES_A = dict(zip(ROLES, ("julien.martin", "sophie.bernard", "claire.dubois",
                           "nathalie.petit", "thomas.robert"), strict=True))
NAMES_B = dict(zip(ROLES, ("luc.girard", "emma.leroy", "paul.durand",
                           "hugo.moreau", "lea.fournier"), strict=True))

_finess = itertools.count(1)


def _luhn_finess(serial: int) -> str:
    body = f"99{serial:06d}"
    return body + luhn.calc_check_digit(body)


def make_lab(slug: str):
    return create_lab(slug, f"Laboratoire {slug}", _luhn_finess(next(_finess) + 500))


def make_user(username: str, lab=None, role: str = Role.FRONTDESK, *, password=None,
              totp=True) -> User:
    first, _, last = username.partition(".")
    # Personas joined months ago (an account younger than 7 days may not approve an export),
    # their password set just now.
    user = User(username=username, first_name=first.title(), last_name=last.title() or "X",
                email=f"{username}@example.invalid", must_change_password=False,
                date_joined=timezone.now() - timedelta(days=90),
                password_changed_at=timezone.now())
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    if lab is not None:
        Membership.objects.create(user=user, lab=lab, role=role)
    if totp:
        SealedTOTPDevice.objects.create(user=user, name="TOTP", confirmed=True)
    return user


def totp_now(device: SealedTOTPDevice, offset_steps: int = 0) -> str:
    """The code an authenticator app shows now (or `offset_steps` steps later)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + offset_steps * device.step
    return f"{totp.token():0{device.digits}d}"


def sign_in(client, user: User, *, sudo: bool = False, address="127.0.0.1", agent=""):
    """Put `client` in the state of a user who passed password + TOTP just now."""
    client.force_login(user)
    session = client.session
    device = SealedTOTPDevice.objects.filter(user=user, confirmed=True).first()
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    now = time.time()
    session[sessions.LOGIN_AT] = now
    session[sessions.LAST_SEEN] = now
    if sudo:
        session[sessions.SUDO_AT] = now
    session.save()
    SessionRecord.objects.update_or_create(
        session_key=stored_key(session.session_key),
        defaults={"user": user, "address": address, "user_agent": agent,
                  "started_at": timezone.now(), "last_seen_at": timezone.now()},
    )
    assert session[SESSION_KEY] == str(user.pk)
    return client


@dataclass
class World:
    lab_a: object
    lab_b: object
    frontdesk: User
    biologist: User
    labadmin: User
    dpo: User
    auditor: User
    in_lab_b: dict  # role -> the person holding it in lab B
    outsider: User  # a confirmed account that belongs to no lab

    @property
    def in_lab_a(self) -> dict:
        return {role: getattr(self, role) for role in ROLES}

    @property
    def outsider_admin(self) -> User:
        return self.in_lab_b[Role.LABADMIN]

    @property
    def other_frontdesk(self) -> User:
        return self.in_lab_b[Role.FRONTDESK]

    def membership(self, user, lab=None):
        return Membership.objects.get(user=user, lab=lab or self.lab_a)


def build_world() -> World:
    lab_a, lab_b = make_lab("lab-a"), make_lab("lab-b")
    in_lab_a = {str(role): make_user(NAMES_A[role], lab_a, role) for role in ROLES}
    return World(
        lab_a=lab_a, lab_b=lab_b, **in_lab_a,
        in_lab_b={role: make_user(NAMES_B[role], lab_b, role) for role in ROLES},
        outsider=make_user("louis.simon"),
    )


_TYPED: dict[str, int] = {}  # secret -> the last time step a test typed a code for


def _secret_and_period(uri: str) -> tuple[str, int, int]:
    params = parse_qs(urlsplit(uri).query)
    return (params["secret"][0], int(params.get("period", ["30"])[0]),
            int(params.get("digits", ["6"])[0]))


def code_from_uri(uri: str, offset_steps: int = 0) -> str:
    """RFC 6238 computed from an otpauth:// URI, independently of django-otp."""
    secret, period, _digits = _secret_and_period(uri)
    return _code_at(uri, int(time.time() // period) + offset_steps)


def next_code(uri: str) -> str:
    """The code the server takes after the one typed last: a newer step than that one,
    within the server's window. Not simply the next step: when a slow machine crosses a
    30 s boundary between typing and checking, django-otp records a drift of -1 and the
    next step is then out of its window, while the current one is new."""
    secret, period, _digits = _secret_and_period(uri)
    now = int(time.time() // period)
    return _code_at(uri, max(now, _TYPED.get(secret, now - 1) + 1))


def _code_at(uri: str, counter: int) -> str:
    secret, _period, digits = _secret_and_period(uri)
    _TYPED[secret] = counter
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 10 ** digits:0{digits}d}"


def journal_actions(lab=None) -> list[str]:
    entries = Entry.objects.filter(lab_id=getattr(lab, "pk", None)).order_by("chain_id", "seq")
    return [e.action for e in entries]
