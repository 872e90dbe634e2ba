"""Account operations shared by the web views and the `etanche users` command.

Each operation validates, changes state in one transaction and journals it.
Validation errors are `django.core.exceptions.ValidationError` with a French
message, shown on the form by views and as one line by the CLI.
"""

import ipaddress
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from etanche.accounts import activation as activations
from etanche.accounts import backends, notices, sessions, throttle
from etanche.accounts.activation import Activation
from etanche.accounts.audit import journal
from etanche.accounts.devices import (
    RecoveryCode,
    RecoveryCodeDevice,
    SealedTOTPDevice,
    new_recovery_code,
)
from etanche.accounts.models import Membership, Role, User
from etanche.accounts.passwords import generate_one_time_password, generic_username_reason

RECOVERY_CODE_COUNT = 10
_USERNAME_FIELD = User._meta.get_field("username")


@dataclass
class Provisioned:
    """A new account and its activation link's token, which only the person may see."""

    user: User
    membership: Membership
    activation: Activation
    token: str


@dataclass
class Issued:
    """A reset's activation link (its token handed to the person) and what the reset removed."""

    activation: Activation
    token: str
    removed: int = 0


@dataclass
class DemoAccount:
    user: User
    password: str
    otpauth_uri: str


def _labs_of(user):
    return [m.lab for m in user.memberships.select_related("lab")] or [None]


def _journal_for_user(action, user, *, actor, detail=None):
    """Journal in every lab of `user`. `actor=None` is the CLI: the journal names the OS user."""
    for lab in _labs_of(user):
        journal(action, lab=lab, user=actor, object_type="accounts.User",
                object_id=user.pk, detail=detail)


def validate_person(*, username: str, first_name: str, last_name: str, email: str) -> None:
    errors = {}
    if not first_name.strip() or not last_name.strip():
        errors["name"] = "Prénom et nom sont obligatoires : un compte désigne une personne."
    if not email.strip():
        errors["email"] = "L'adresse électronique est obligatoire."
    else:
        try:
            validate_email(email)
        except ValidationError:
            errors["email"] = "Adresse électronique invalide."
    try:
        _USERNAME_FIELD.run_validators(username)
    except ValidationError:
        errors["username"] = "Identifiant invalide : lettres, chiffres et . - _ seulement."
    else:
        reason = generic_username_reason(username)
        if reason:
            errors["username"] = f"Identifiant refusé : {reason}. Comptes nominatifs uniquement."
        elif User.objects.filter(username__iexact=username).exists():
            errors["username"] = "Cet identifiant existe déjà."
    if errors:
        raise ValidationError(errors)


def validate_role(role: str) -> None:
    if role not in Role.values:
        raise ValidationError(f"Rôle inconnu : choisir parmi {', '.join(Role.values)}.")


def _new_account(*, username, first_name, last_name, email, lab, role, actor):
    validate_person(username=username, first_name=first_name, last_name=last_name, email=email)
    validate_role(role)
    user = User(username=username, first_name=first_name.strip(), last_name=last_name.strip(),
                email=email.strip(), must_change_password=False,
                password_changed_at=timezone.now())
    user.set_unusable_password()
    user.save()
    membership = Membership.objects.create(user=user, lab=lab, role=role)
    journal("USER_CREATE", lab=lab, user=actor, object_type="accounts.User",
            object_id=user.pk, detail={"role": role, "via": "web" if actor else "cli"})
    return user, membership


def create_user(*, username, first_name, last_name, email, lab, role, actor=None,
                validity: timedelta = activations.DEFAULT_VALIDITY) -> Provisioned:
    """Create a named user in `lab` with no usable credential, and their activation link.

    Whoever creates the account never learns a password or a second factor: the
    person sets both from the link (issue 16, item 3).
    """
    with transaction.atomic():
        user, membership = _new_account(username=username, first_name=first_name,
                                        last_name=last_name, email=email, lab=lab, role=role,
                                        actor=actor)
        activation, token = activations.issue(user, Activation.Kind.CREATE, validity)
    return Provisioned(user=user, membership=membership, activation=activation, token=token)


@sensitive_variables("password")
def create_demo_account(*, username, first_name, last_name, email, lab, role) -> DemoAccount:
    """For `etanche demo` only: a synthetic account whose one-time password and TOTP URI
    are returned, to be written to the demo's credentials file. No real workflow calls it."""
    password = generate_one_time_password()
    with transaction.atomic():
        user, _membership = _new_account(username=username, first_name=first_name,
                                         last_name=last_name, email=email, lab=lab, role=role,
                                         actor=None)
        user.set_password(password)
        user.must_change_password = True
        user.save(update_fields=["password", "must_change_password"])
        uri = SealedTOTPDevice.objects.create(user=user, name="TOTP", confirmed=True).config_url
    return DemoAccount(user=user, password=password, otpauth_uri=uri)


def disable_user(user: User, *, actor=None) -> None:
    """Disable the account everywhere: no login, every session ended."""
    with transaction.atomic():
        user.is_active = False
        user.save(update_fields=["is_active"])
        user.memberships.update(is_active=False)
        sessions.end_all_sessions(user)
        _journal_for_user("USER_DISABLE", user, actor=actor, detail={"scope": "account"})


def _guard_last_admin(membership: Membership) -> None:
    if membership.role != Role.LABADMIN:
        return
    others = Membership.objects.active().filter(lab=membership.lab, role=Role.LABADMIN)
    if not others.exclude(pk=membership.pk).exists():
        raise ValidationError("Impossible : ce serait le dernier administrateur du laboratoire.")


def _guard_not_self(membership: Membership, actor) -> None:
    if actor is not None and membership.user_id == actor.pk:
        raise ValidationError("Vous ne pouvez pas modifier votre propre compte ici.")


def disable_membership(membership: Membership, *, actor) -> None:
    """A lab admin removes someone from their lab; the account ends if no lab is left."""
    _guard_not_self(membership, actor)
    _guard_last_admin(membership)
    with transaction.atomic():
        membership.is_active = False
        membership.save(update_fields=["is_active"])
        user = membership.user
        if not user.memberships.filter(is_active=True).exists():
            user.is_active = False
            user.save(update_fields=["is_active"])
        sessions.end_all_sessions(user)
        journal("USER_DISABLE", lab=membership.lab, user=actor, object_type="accounts.User",
                object_id=user.pk, detail={"scope": "membership"})


def change_role(membership: Membership, role: str, *, actor) -> None:
    validate_role(role)
    _guard_not_self(membership, actor)
    if role != Role.LABADMIN:
        _guard_last_admin(membership)
    with transaction.atomic():
        previous = membership.role
        membership.role = role
        membership.save(update_fields=["role"])
        journal("USER_UPDATE", lab=membership.lab, user=actor, object_type="accounts.User",
                object_id=membership.user_id, detail={"role": role, "previous_role": previous})


def unlock(membership: Membership, *, actor) -> bool:
    with transaction.atomic():
        unlocked = throttle.unlock(membership.user.username)
        journal("UNLOCK", lab=membership.lab, user=actor, object_type="accounts.User",
                object_id=membership.user_id, detail={"was_locked": unlocked})
    return unlocked


BAD_ADDRESS = "Indiquez une adresse IP (par exemple 192.0.2.10 ou 2001:db8::1)."


def unlock_address(address: str, *, lab, actor) -> bool:
    """Lift the wait of a client address (a workstation whose users mistyped too often).

    The journal keeps that an address was released, not which: addresses of staff
    workstations stay out of the journal like everything that is not an id.
    """
    try:
        value = ipaddress.ip_address((address or "").strip()).compressed
    except ValueError:
        raise ValidationError(BAD_ADDRESS) from None
    with transaction.atomic():
        unlocked = throttle.unlock_address(value)
        journal("UNLOCK", lab=lab, user=actor, detail={"scope": "address",
                                                       "was_throttled": unlocked})
    return unlocked


SAME_PASSWORD = "Le nouveau mot de passe doit être différent de l'actuel."  # noqa: S105


def change_password(user: User, new_password: str, *, keep_session: str | None = None) -> None:
    """Set a password that passes the policy; end the user's other sessions."""
    password_validation.validate_password(new_password, user)
    if user.check_password(new_password):
        # Renewal (one-time or expired password) means nothing if the same one comes back.
        raise ValidationError(SAME_PASSWORD)
    with transaction.atomic():
        user.set_password(new_password)
        user.must_change_password = False
        user.password_changed_at = timezone.now()
        user.save(update_fields=["password", "must_change_password", "password_changed_at"])
        sessions.end_all_sessions(user, keep=keep_session)
        _journal_for_user("PASSWORD_CHANGE", user, actor=user)
        notices.notify(user, notices.PASSWORD)


PRIVILEGED_ROLES = frozenset({Role.LABADMIN, Role.DPO})


def is_privileged(user: User) -> bool:
    return Membership.objects.active().filter(user=user, role__in=PRIVILEGED_ROLES).exists()


def password_expired(user: User, now=None) -> bool:
    """True for a lab admin or DPO whose password is older than the configured maximum.

    CNIL 2022-100 recommends periodic renewal for privileged accounts only;
    every other account keeps its password until it chooses to change it.
    """
    changed = user.password_changed_at or user.date_joined
    limit = timedelta(days=settings.ETANCHE_PRIVILEGED_PASSWORD_MAX_DAYS)
    if (now or timezone.now()) - changed <= limit:
        return False
    return is_privileged(user)


# --- resets by a lab admin (web) or the operator (CLI) ------------------------

def _guard_resettable(membership: Membership, actor) -> None:
    _guard_not_self(membership, actor)
    if not (membership.is_active and membership.user.is_active):
        raise ValidationError("Ce compte est désactivé.")
    elsewhere = Membership.objects.active().filter(user=membership.user_id)
    if elsewhere.exclude(lab=membership.lab_id).exists():
        # Taking over this account would give authority in a lab the admin does not run.
        raise ValidationError(
            "Ce compte a aussi accès à un autre laboratoire : la réinitialisation se fait "
            "par l'exploitant (etanche users reset-password / reset-mfa)."
        )


def reset_password(user: User, *, actor=None, via: str = "cli",
                   validity: timedelta = activations.DEFAULT_VALIDITY) -> Issued:
    """Make the password unusable and give `user` an activation link to choose a new one.

    Every session ends and the account's lockout is lifted (a forgotten password
    usually comes with one). Whoever resets learns no password.
    """
    with transaction.atomic():
        user.set_unusable_password()
        user.save(update_fields=["password"])
        ended = sessions.end_all_sessions(user)
        unlocked = throttle.unlock(user.username)
        activation, token = activations.issue(user, Activation.Kind.PASSWORD, validity)
        _journal_for_user("PASSWORD_CHANGE", user, actor=actor, detail={
            "reset": True, "via": via, "sessions_ended": ended, "unlocked": unlocked})
    return Issued(activation=activation, token=token)


def reset_mfa(user: User, *, actor=None, via: str = "cli",
              validity: timedelta = activations.DEFAULT_VALIDITY) -> Issued:
    """Remove the TOTP app and recovery codes; the person enrols a new app from an
    activation link (or, with their password, at next login).

    Sessions end: one may be on the lost phone.
    """
    with transaction.atomic():
        removed = SealedTOTPDevice.objects.filter(user=user).delete()[1].get(
            SealedTOTPDevice._meta.label, 0)
        removed += RecoveryCodeDevice.objects.filter(user=user).delete()[1].get(
            RecoveryCodeDevice._meta.label, 0)
        ended = sessions.end_all_sessions(user)
        activation, token = activations.issue(user, Activation.Kind.MFA, validity)
        _journal_for_user("MFA_RESET", user, actor=actor, detail={
            "device": "all", "via": via, "removed": removed, "sessions_ended": ended})
    return Issued(activation=activation, token=token, removed=removed)


def reset_member_password(membership: Membership, *, actor) -> Issued:
    _guard_resettable(membership, actor)
    return reset_password(membership.user, actor=actor, via="web")


def reset_member_mfa(membership: Membership, *, actor) -> Issued:
    _guard_resettable(membership, actor)
    return reset_mfa(membership.user, actor=actor, via="web")


# --- second factor -------------------------------------------------------------

def confirmed_totp(user: User) -> SealedTOTPDevice | None:
    return SealedTOTPDevice.objects.filter(user=user, confirmed=True).first()


def pending_totp(user: User) -> SealedTOTPDevice:
    """The unconfirmed device being enrolled (created on first call, then reused)."""
    device = SealedTOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or SealedTOTPDevice.objects.create(user=user, name="TOTP", confirmed=False)


def confirm_totp(user: User, device: SealedTOTPDevice, token: str) -> list[str] | None:
    """Confirm a pending device with a code from the app; replace any previous one.

    Returns fresh recovery codes (shown once), or None if the code is wrong.
    """
    with transaction.atomic():
        device = SealedTOTPDevice.objects.select_for_update().get(pk=device.pk, user=user)
        if not device.verify_token(token):
            return None
        replacing = SealedTOTPDevice.objects.filter(user=user, confirmed=True).exists()
        SealedTOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = _new_recovery_codes(user)
        _journal_for_user("MFA_RESET" if replacing else "MFA_ENROL", user, actor=user,
                          detail={"device": "totp"})
        notices.notify(user, notices.FACTOR_REPLACED if replacing else notices.FACTOR_ENROLLED)
    return codes


@sensitive_variables("new_password")
def complete_activation(activation: Activation, *, new_password: str,
                        device: SealedTOTPDevice, code: str) -> list[str] | None:
    """The person's own password and authenticator app, from their activation link.

    Checks the password policy (ValidationError) and the app's code (None if wrong)
    before anything changes; then, in one transaction, sets both, spends the link,
    ends every session and returns fresh recovery codes (shown once).
    """
    with transaction.atomic():
        activation = (Activation.objects.select_for_update().select_related("user")
                      .get(pk=activation.pk))
        user = activation.user
        refusal = activation.refusal or (None if user.is_active else activations.INVALID)
        if refusal:
            raise ValidationError(refusal)
        password_validation.validate_password(new_password, user)
        device = SealedTOTPDevice.objects.select_for_update().get(pk=device.pk, user=user,
                                                                  confirmed=False)
        if not device.verify_token(code):
            return None
        replacing = SealedTOTPDevice.objects.filter(user=user, confirmed=True).exists()
        SealedTOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        user.set_password(new_password)
        user.must_change_password = False
        user.password_changed_at = timezone.now()
        user.save(update_fields=["password", "must_change_password", "password_changed_at"])
        activation.used_at = timezone.now()
        activation.save(update_fields=["used_at"])
        sessions.end_all_sessions(user)
        codes = _new_recovery_codes(user)
        detail = {"activation": activation.kind}
        _journal_for_user("PASSWORD_CHANGE", user, actor=user, detail=detail)
        _journal_for_user("MFA_RESET" if replacing else "MFA_ENROL", user, actor=user,
                          detail={"device": "totp", **detail})
        notices.notify(user, notices.PASSWORD)
        notices.notify(user, notices.FACTOR_REPLACED if replacing else notices.FACTOR_ENROLLED)
    return codes


def _new_recovery_codes(user: User) -> list[str]:
    RecoveryCodeDevice.objects.filter(user=user).delete()
    device = RecoveryCodeDevice.objects.create(user=user, name="Codes de secours",
                                               confirmed=True)
    codes = [new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    device.add_codes(codes)
    return codes


def regenerate_recovery_codes(user: User) -> list[str]:
    with transaction.atomic():
        codes = _new_recovery_codes(user)
        _journal_for_user("MFA_RESET", user, actor=user, detail={"device": "recovery_codes"})
        notices.notify(user, notices.RECOVERY_CODES)
    return codes


def recovery_codes_left(user: User) -> int:
    return RecoveryCode.objects.filter(device__user=user, device__confirmed=True).count()


def memberships_of_lab(lab):
    return Membership.objects.filter(lab=lab).select_related("user").order_by("user__username")


def membership_in(user, lab) -> Membership | None:
    """The active membership of an active `user` in `lab` (a Lab or its id), or None."""
    if user is None or not user.is_active:
        return None
    return (Membership.objects.active().filter(user=user, lab_id=getattr(lab, "pk", lab))
            .select_related("lab").first())


def primary_membership(user) -> Membership | None:
    """The membership a request acts under (the first active one by lab slug)."""
    if not user.is_authenticated:
        return None
    if hasattr(user, backends.PRIMARY):  # loaded with the user, this request
        return getattr(user, backends.PRIMARY)
    return Membership.objects.active().filter(user=user).select_related("lab").first()
