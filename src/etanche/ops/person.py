"""The person a CLI command acts as (`--by USER`), proven by their TOTP code on stdin.

The same rule as `etanche export` (ops/management/commands/export.py): the first
line of standard input is the user's current code; a command that also reads data
on stdin (`patients update`) reads it after that line.
"""

import sys

import django_otp
from django.core.management.base import CommandError

from etanche.accounts.models import User
from etanche.accounts.services import confirmed_totp


def named_user(username: str, stream=None) -> User:
    stream = stream or sys.stdin
    user = User.objects.filter(username=username, is_active=True).first()
    device = confirmed_totp(user) if user else None
    code = stream.readline().strip() if not stream.isatty() else ""
    if user is None or device is None:
        raise CommandError(f"{username}: no active account with a TOTP app")
    if not code:
        raise CommandError(f"{username}'s current TOTP code is required on standard input")
    if not code.isdigit() or not django_otp.verify_token(user, device.persistent_id, code):
        raise CommandError(f"wrong or expired TOTP code for {username}")
    return user
