from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from etanche.accounts import activation as activations
from etanche.accounts import services
from etanche.accounts.models import Membership, Role, User
from etanche.labs.models import Lab


def _one_line(exc: ValidationError) -> str:
    return " ".join(exc.messages)


class Command(BaseCommand):
    help = (
        "Manage named staff accounts: create, disable, list, reset-password, reset-mfa. "
        "Accounts are persons: first and last name and email are required, generic "
        "usernames (admin, accueil, labo...) are refused. `create`, `reset-password` and "
        "`reset-mfa` print, on their last line, a single-use activation link (valid 72 "
        "hours, or --valid, e.g. 3d) to hand to the person, who chooses their password and "
        "enrols their authenticator app there: nobody else ever holds their credentials. "
        "Links start with ETANCHE_PUBLIC_URL. `reset-password` makes the old password "
        "unusable; `reset-mfa` removes the TOTP app and recovery codes. "
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
        disable = sub.add_parser("disable", help="disable an account and end its sessions")
        disable.add_argument("username")
        listing = sub.add_parser("list", help="list the accounts of a lab")
        listing.add_argument("--lab", required=True, help="slug of the lab")
        reset_password = sub.add_parser(
            "reset-password", help="end the password; print an activation link to choose one")
        reset_password.add_argument("username")
        reset_mfa = sub.add_parser(
            "reset-mfa", help="remove TOTP and recovery codes; print an activation link")
        reset_mfa.add_argument("username")
        for parser_ in (create, reset_password, reset_mfa):
            parser_.add_argument("--valid", default="72h",
                                 help="how long the activation link works: 90m, 72h, 3d "
                                      "(1 hour to 30 days; default 72h)")

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

    @staticmethod
    def _validity(text: str):
        try:
            return activations.parse_validity(text)
        except ValidationError as exc:
            raise CommandError(_one_line(exc)) from None

    def _hand_over(self, issued, username: str) -> None:
        """The link goes last, alone on its line, for the operator to give the person."""
        expires = f"{issued.activation.expires_at:%Y-%m-%d %H:%M %Z}"
        self.stdout.write(f"activation link for {username}, single use, expires {expires}; "
                          "hand it to the person only (they set their own credentials there "
                          "and enrol their authenticator app):")
        url = settings.ETANCHE_PUBLIC_URL + reverse("activation")
        self.stdout.write(activations.link(url, issued.token))

    def _create(self, *, username, lab, role, name, email, valid, **_):
        first, _sep, last = name.strip().partition(" ")
        if not first or not last.strip():
            raise CommandError('--name needs a first and a last name, e.g. --name "Claire Dubois"')
        if not email.strip():
            raise CommandError("--email is required: accounts are named persons")
        validity = self._validity(valid)
        try:
            provisioned = services.create_user(
                username=username, first_name=first, last_name=last, email=email,
                lab=self._lab(lab), role=role, validity=validity,
            )
        except ValidationError as exc:
            raise CommandError(_one_line(exc)) from None
        self.stdout.write(f"user: {provisioned.user.username} ({role} in {lab})")
        self._hand_over(provisioned, username)

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

    def _reset_password(self, *, username, valid, **_):
        validity = self._validity(valid)
        issued = services.reset_password(self._active_user(username), validity=validity)
        self.stdout.write(f"password reset: {username} (old password unusable, sessions ended)")
        self._hand_over(issued, username)

    def _reset_mfa(self, *, username, valid, **_):
        validity = self._validity(valid)
        issued = services.reset_mfa(self._active_user(username), validity=validity)
        self.stdout.write(
            f"second factor reset: {username} ({issued.removed} device(s) removed, sessions "
            "ended)")
        self._hand_over(issued, username)
