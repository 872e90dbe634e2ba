"""Named personas for accounts tests (healthchecks' BaseTestCase, as plain helpers).

Two labs, one person per role in lab A, a lab admin in lab B. Personas get an
unusable password (Argon2id is slow on purpose); tests of the login page give
a real password to the one account they log in with.
"""

import itertools
import time
from dataclasses import dataclass

from django.contrib.auth import SESSION_KEY
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP

from etanche.accounts.models import Membership, Role, SealedTOTPDevice, SessionRecord, User
from etanche.ops.labs import create_lab
from etanche.web import sessions

_finess = itertools.count(1)


def _luhn_finess(serial: int) -> str:
    from stdnum import luhn

    body = f"99{serial:06d}"
    return body + luhn.calc_check_digit(body)


def make_lab(slug: str):
    return create_lab(slug, f"Laboratoire {slug}", _luhn_finess(next(_finess) + 500))


def make_user(username: str, lab=None, role: str = Role.FRONTDESK, *, password=None,
              totp=True) -> User:
    first, _, last = username.partition(".")
    user = User(username=username, first_name=first.title(), last_name=last.title() or "X",
                email=f"{username}@example.invalid", must_change_password=False)
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
    from django.utils import timezone

    SessionRecord.objects.update_or_create(
        session_key=session.session_key,
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
    outsider_admin: User

    def membership(self, user, lab=None):
        return Membership.objects.get(user=user, lab=lab or self.lab_a)


def build_world() -> World:
    lab_a, lab_b = make_lab("lab-a"), make_lab("lab-b")
    return World(
        lab_a=lab_a, lab_b=lab_b,
        frontdesk=make_user("julien.martin", lab_a, Role.FRONTDESK),
        biologist=make_user("sophie.bernard", lab_a, Role.BIOLOGIST),
        labadmin=make_user("claire.dubois", lab_a, Role.LABADMIN),
        dpo=make_user("nathalie.petit", lab_a, Role.DPO),
        auditor=make_user("thomas.robert", lab_a, Role.AUDITOR),
        outsider_admin=make_user("paul.durand", lab_b, Role.LABADMIN),
    )


def code_from_uri(uri: str, offset_steps: int = 0) -> str:
    """RFC 6238 computed from an otpauth:// URI, independently of django-otp."""
    import base64
    import hashlib
    import hmac
    import struct
    from urllib.parse import parse_qs, urlsplit

    params = parse_qs(urlsplit(uri).query)
    secret = params["secret"][0]
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    period, digits = int(params.get("period", ["30"])[0]), int(params.get("digits", ["6"])[0])
    counter = int(time.time() // period) + offset_steps
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 10 ** digits:0{digits}d}"


def journal_actions(lab=None) -> list[str]:
    from etanche.journal.models import Entry

    entries = Entry.objects.filter(lab_id=getattr(lab, "pk", None)).order_by("chain_id", "seq")
    return [e.action for e in entries]
