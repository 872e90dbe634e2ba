import sys

import django_otp
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from etanche.accounts import tokens
from etanche.accounts.models import User
from etanche.accounts.services import confirmed_totp, membership_in
from etanche.labs.models import Lab


def _one_line(exc: ValidationError) -> str:
    return " ".join(exc.messages)


class Command(BaseCommand):
    help = (
        "Personal API tokens of the FHIR API (docs/fhir.md). `create` makes a token for the "
        "named user in one lab, with SMART-style scopes (patient/Patient.read, "
        "user/ServiceRequest.write, user/*.*, etanche/clinical.read ...) and an expiry (at "
        "most one year); the token is printed once, on the last line, and only its keyed "
        "digest is kept. A token never has more authority than its user's role, and loses "
        "it with them. `list` shows a user's tokens (never the secret), `revoke` ends one. "
        "`create` and `revoke` read the user's current TOTP code on standard input and "
        "refuse without it; both are journaled under that user."
    )
    # A token is the user's own, like their password: no permission of the role table
    # allows making one; the scopes asked are checked against the user's role instead.
    permissions = frozenset()

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True,
                                    metavar="{create,list,revoke}")
        create = sub.add_parser("create", help="create a token (printed once)")
        create.add_argument("--user", required=True, help="username of the token's owner")
        create.add_argument("--lab", required=True, help="slug of the lab")
        create.add_argument("--scopes", required=True,
                            help='space- or comma-separated, e.g. "user/Patient.* '
                                 'user/ServiceRequest.read"')
        create.add_argument("--expires", default="90d", help="12h, 90d ... (max 365d)")
        create.add_argument("--name", default="", help="what will use it (default: cli)")
        listing = sub.add_parser("list", help="a user's tokens, newest first")
        listing.add_argument("--user", required=True)
        revoke = sub.add_parser("revoke", help="revoke one of the user's tokens")
        revoke.add_argument("id", type=int)
        revoke.add_argument("--user", required=True, help="username of the token's owner")

    def handle(self, *args, action, **options):
        try:
            getattr(self, f"_{action}")(**options)
        except ValidationError as exc:
            raise CommandError(_one_line(exc)) from None

    @staticmethod
    def _named_user(username: str) -> User:
        """The named person, proven by their current TOTP code read on stdin."""
        user = User.objects.filter(username=username, is_active=True).first()
        device = confirmed_totp(user) if user else None
        code = sys.stdin.readline().strip() if not sys.stdin.isatty() else ""
        if user is None or device is None:
            raise CommandError(f"{username}: no active account with a TOTP app")
        if not code:
            raise CommandError(f"{username}'s current TOTP code is required on standard input")
        if not code.isdigit() or not django_otp.verify_token(user, device.persistent_id, code):
            raise CommandError(f"wrong or expired TOTP code for {username}")
        return user

    def _create(self, *, user, lab, scopes, expires, name, **_):
        found = Lab.objects.filter(slug=lab).first()
        if found is None:
            raise CommandError(f"no lab with slug {lab!r}")
        validity = tokens.parse_validity(expires)
        scopes = tokens.parse_scopes(scopes)
        person = self._named_user(user)
        membership = membership_in(person, found)
        if membership is None or not membership.is_active:
            raise CommandError(f"{user} has no active role in lab {lab}")
        token, secret = tokens.create_token(membership, scopes=scopes, validity=validity,
                                            label=name or "cli", via="cli")
        self.stdout.write(f"token {token.pk} for {user} in {lab}, scopes {token.scopes}, "
                          f"expires {timezone.localtime(token.expires_at):%Y-%m-%d %H:%M}; "
                          "shown once, keep it in the integrating software's secret store:")
        self.stdout.write(secret)

    def _list(self, *, user, **_):
        person = User.objects.filter(username=user).first()
        if person is None:
            raise CommandError(f"no account {user!r}")
        for token in tokens.tokens_of(person):
            used = (f"{timezone.localtime(token.last_used_at):%Y-%m-%d %H:%M}"
                    if token.last_used_at else "never")
            self.stdout.write(
                f"{token.pk}\t{token.lab.slug}\t{token.state}\t{token.label}\t{token.scopes}\t"
                f"expires {timezone.localtime(token.expires_at):%Y-%m-%d}\tlast used {used}")

    def _revoke(self, *, id, user, **_):
        person = self._named_user(user)
        token = tokens.tokens_of(person).filter(pk=id).first()
        if token is None:
            raise CommandError(f"{user} has no token {id}")
        if not tokens.revoke(token, actor=person, via="cli"):
            raise CommandError(f"token {id} was already revoked")
        self.stdout.write(f"token {id} revoked")
