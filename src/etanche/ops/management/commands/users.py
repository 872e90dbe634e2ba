import io

import segno
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from etanche.accounts import services
from etanche.accounts.models import Membership, Role, User
from etanche.labs.models import Lab


def _one_line(exc: ValidationError) -> str:
    return " ".join(exc.messages)


class Command(BaseCommand):
    help = (
        "Manage named staff accounts: create, disable, list, reset-password, reset-mfa. "
        "Accounts are persons: first and last name and email are required, generic "
        "usernames (admin, accueil, labo...) are refused. `create` prints a one-time "
        "password and the TOTP provisioning URI (with a terminal QR code) once; the "
        "person changes the password at first login. "
        "`reset-password` prints a new one-time password once (changed at next login); "
        "`reset-mfa` removes the TOTP app and recovery codes (enrolled again at next login). "
        "Every change is journaled, naming the OS user (and ETANCHE_OPERATOR if set)."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True,
                                    metavar="{create,disable,list,reset-password,reset-mfa}")
        create = sub.add_parser("create", help="create a named account in a lab")
        create.add_argument("username", help="personal username, e.g. claire.dubois")
        create.add_argument("--lab", required=True, help="slug of the lab")
        create.add_argument("--role", required=True, choices=Role.values)
        create.add_argument("--name", required=True, help='"First Last" (required)')
        create.add_argument("--email", required=True, help="work email (required)")
        create.add_argument("--no-qr", action="store_true", help="omit the terminal QR code")
        disable = sub.add_parser("disable", help="disable an account and end its sessions")
        disable.add_argument("username")
        listing = sub.add_parser("list", help="list the accounts of a lab")
        listing.add_argument("--lab", required=True, help="slug of the lab")
        reset_password = sub.add_parser(
            "reset-password", help="print a new one-time password, changed at next login")
        reset_password.add_argument("username")
        reset_mfa = sub.add_parser(
            "reset-mfa", help="remove TOTP and recovery codes; enrolment again at next login")
        reset_mfa.add_argument("username")

    def handle(self, *args, action, **options):
        getattr(self, f"_{action.replace('-', '_')}")(**options)

    @staticmethod
    def _active_user(username: str) -> User:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user {username!r}")
        if not user.is_active:
            raise CommandError(f"{username} is disabled")
        return user

    @staticmethod
    def _lab(slug: str) -> Lab:
        lab = Lab.objects.filter(slug=slug).first()
        if lab is None:
            raise CommandError(f"no lab with slug {slug!r} (see `etanche labs create`)")
        return lab

    def _create(self, *, username, lab, role, name, email, no_qr, **_):
        first, _sep, last = name.strip().partition(" ")
        if not first or not last.strip():
            raise CommandError('--name needs a first and a last name, e.g. --name "Claire Dubois"')
        if not email.strip():
            raise CommandError("--email is required: accounts are named persons")
        try:
            provisioned = services.create_user(
                username=username, first_name=first, last_name=last, email=email,
                lab=self._lab(lab), role=role,
            )
        except ValidationError as exc:
            raise CommandError(_one_line(exc)) from None
        self.stdout.write(f"user: {provisioned.user.username} ({role} in {lab})")
        self.stdout.write(f"password: {provisioned.password}")
        self.stdout.write(f"otpauth: {provisioned.otpauth_uri}")
        if not no_qr:
            buffer = io.StringIO()
            segno.make(provisioned.otpauth_uri, error="m").terminal(out=buffer, compact=True)
            self.stdout.write(buffer.getvalue())
        self.stdout.write(
            "shown once: hand both to the person; the password must be changed at first login"
        )

    def _disable(self, *, username, **_):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user {username!r}")
        if not user.is_active:
            raise CommandError(f"{username} is already disabled")
        services.disable_user(user)
        self.stdout.write(f"disabled: {username} (sessions ended)")

    def _list(self, *, lab, **_):
        members = Membership.objects.filter(lab=self._lab(lab)).select_related("user")
        for m in members.order_by("user__username"):
            state = "active" if m.is_active and m.user.is_active else "disabled"
            self.stdout.write(
                f"{m.user.username}\t{m.role}\t{state}\t{m.user.get_full_name()}\t{m.user.email}"
            )

    def _reset_password(self, *, username, **_):
        password = services.reset_password(self._active_user(username))
        self.stdout.write(f"password: {password}")
        self.stdout.write(
            "shown once: hand it to the person; it must be changed at next login "
            "(their sessions were ended)"
        )

    def _reset_mfa(self, *, username, **_):
        removed = services.reset_mfa(self._active_user(username))
        self.stdout.write(
            f"second factor reset: {username} ({removed} device(s) removed, sessions ended); "
            "they enrol a new app at next login"
        )
