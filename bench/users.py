"""Named front-office accounts with a known password and a confirmed TOTP device (bench only)."""

import secrets
import time

from django_otp.oath import TOTP


def _create(lab, username: str, last_name: str):
    """A front-office member of `lab` with a random password; (password, device)."""
    from etanche.accounts.models import Membership, Role, SealedTOTPDevice, User

    password = secrets.token_urlsafe(18)
    user = User(username=username, first_name="Agent", last_name=last_name,
                email=f"{username}@example.invalid", must_change_password=False)
    user.set_password(password)
    user.save()
    Membership.objects.create(user=user, lab=lab, role=Role.FRONTDESK)
    device = SealedTOTPDevice.objects.create(user=user, name="TOTP", confirmed=True)
    return password, device


def make_frontdesk(lab, count: int, prefix: str = "bench") -> list[tuple[str, str, object]]:
    """[(username, password, code_now)] for `count` new front-office members of `lab`."""
    made = []
    for i in range(count):
        username = f"{prefix}.agent{i:02d}"
        password, device = _create(lab, username, f"Banc{i:02d}")
        made.append((username, password, _code_function(device)))
    return made


def make_accounts(lab, count: int, prefix: str = "load") -> list[dict]:
    """`count` new front-office members as bench/locustfile.py reads them (its
    ETANCHE_LOAD_ACCOUNTS file): {"username", "password", "totp_key" (hex)}."""
    made = []
    for i in range(count):
        username = f"{prefix}.agent{i:02d}"
        password, device = _create(lab, username, f"Charge{i:02d}")
        made.append({"username": username, "password": password,
                     "totp_key": device.bin_key.hex()})
    return made


def _code_function(device):
    key, step, t0, digits = device.bin_key, device.step, device.t0, device.digits

    def code_now() -> str:
        totp = TOTP(key, step, t0, digits, 0)
        totp.time = time.time()
        return f"{totp.token():0{digits}d}"

    return code_now
