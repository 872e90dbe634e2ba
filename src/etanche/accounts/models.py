"""Staff accounts: named persons, their role in each lab, and the security state around them.

Staff identity (names, work email) is not patient data and stays in clear; the
throttling table holds keyed hashes only, so it reveals no username or address.
"""

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models

from etanche.lib.personal_data import Protection as P


class NoSuperuserManager(UserManager):
    def create_superuser(self, *args, **kwargs):
        # A superuser bypasses roles and lab boundaries; Étanche has none.
        raise RuntimeError("superusers do not exist in Étanche: use `etanche users create`")


class User(AbstractUser):
    """A named person. Staff identity is not patient data and stays in clear."""

    first_name = models.CharField("prénom", max_length=150)
    last_name = models.CharField("nom", max_length=150)
    email = models.EmailField("adresse électronique")
    # The initial password is one-time: whoever handed it over also knows it.
    must_change_password = models.BooleanField(default=True)
    password_changed_at = models.DateTimeField(null=True, blank=True)

    objects = NoSuperuserManager()

    REQUIRED_FIELDS = ["first_name", "last_name", "email"]

    class Meta:
        db_table = "accounts_user"


class Role(models.TextChoices):
    # Epicene or inclusive labels (point médian): a role is shown to women and men alike,
    # never in the masculine only (issue 24, item 14).
    FRONTDESK = "frontdesk", "Secrétaire (accueil / prélèvement)"
    BIOLOGIST = "biologist", "Biologiste"
    LABADMIN = "labadmin", "Administrateur·rice du laboratoire"
    DPO = "dpo", "Délégué·e à la protection des données"
    AUDITOR = "auditor", "Auditeur·rice"


class MembershipQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True, user__is_active=True)


class Membership(models.Model):
    """A user's role in one lab: the only source of authority in Étanche."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                             related_name="memberships")
    lab = models.ForeignKey("labs.Lab", on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "lab"], name="one_membership_per_lab"),
        ]
        ordering = ["lab__slug", "user__username"]

    def __str__(self):
        return f"{self.user_id}@{self.lab_id}:{self.role}"


class FailureCounter(models.Model):
    """Failed logins of one scope, keyed by an HMAC (accounts/throttle.py).

    The key is a keyed hash so the table lists neither usernames nor addresses.
    """

    class Kind(models.TextChoices):
        ACCOUNT = "account"
        PAIR = "pair"  # one account from one address, or from one known browser
        ADDRESS = "address"
        ALL = "all"  # every attempt of the instance: counted for bursts, never waited on

    kind = models.CharField(max_length=10, choices=Kind.choices)
    key = models.CharField(max_length=64)
    failures = models.PositiveIntegerField(default=0)
    window_start = models.DateTimeField()
    last_failure_at = models.DateTimeField(null=True, blank=True)
    # No attempt of this scope is heard before then (the password is not even checked).
    wait_until = models.DateTimeField(null=True, blank=True)
    burst_start = models.DateTimeField(null=True, blank=True)
    burst_attempts = models.PositiveIntegerField(default=0)
    # Refused attempts not yet journaled: one entry per scope and window, with a count.
    unreported = models.PositiveIntegerField(default=0)
    reported_at = models.DateTimeField(null=True, blank=True)

    PERSONAL_DATA = {
        "id": P.NONE, "kind": P.NONE, "key": P.HASHED, "failures": P.NONE,
        "window_start": P.NONE, "last_failure_at": P.NONE, "wait_until": P.NONE,
        "burst_start": P.NONE, "burst_attempts": P.NONE, "unreported": P.NONE,
        "reported_at": P.NONE,
    }

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "key"], name="one_counter_per_key"),
        ]

    def __str__(self):
        return f"{self.kind}:{self.key[:8]}"


class KnownClient(models.Model):
    """A browser or an address this account completed a full login from.

    Attempts from them are not held up by failures elsewhere, so guessing from
    another place cannot lock the person out. Keyed hashes only.
    """

    class Kind(models.TextChoices):
        DEVICE = "device"
        ADDRESS = "address"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    key = models.CharField(max_length=64)
    last_login_at = models.DateTimeField()

    PERSONAL_DATA = {"id": P.NONE, "user": P.PSEUDONYMOUS, "kind": P.NONE, "key": P.HASHED,
                     "last_login_at": P.STAFF_CLEAR}

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "key"], name="one_known_client"),
        ]

    def __str__(self):
        return f"{self.kind} of user {self.user_id}"


class UsageCounter(models.Model):
    """Searches or patient reads of one account in the current and the previous window.

    A sliding-window estimate (previous count, weighted by how much of it still
    overlaps, plus the current count): two integers per account and window, no
    personal data beyond the account's id.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    kind = models.CharField(max_length=20)  # e.g. "search/60", "read/3600"
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)
    previous = models.PositiveIntegerField(default=0)

    PERSONAL_DATA = {"id": P.NONE, "user": P.PSEUDONYMOUS, "kind": P.NONE,
                     "window_start": P.NONE, "count": P.NONE, "previous": P.NONE}

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="one_usage_counter"),
        ]

    def __str__(self):
        return f"{self.kind} of user {self.user_id}"


class SessionRecord(models.Model):
    """One live login, so users see their sessions and shared use can be spotted."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="session_records")
    # accounts.session_store.stored_key of the session's key, never the key (issue 16).
    session_key = models.CharField(max_length=64, unique=True)
    address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=200, blank=True)
    started_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_seen_at"]
        indexes = [models.Index(fields=["user", "ended_at"])]

    def __str__(self):
        return f"session of user {self.user_id}"


class SharedUseFlag(models.Model):
    """Two live sessions of one account from different places: likely a shared account."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                             related_name="shared_use_flags")
    first_session = models.ForeignKey(SessionRecord, on_delete=models.SET_NULL, null=True,
                                      related_name="+")
    second_session = models.ForeignKey(SessionRecord, on_delete=models.SET_NULL, null=True,
                                       related_name="+")
    detected_at = models.DateTimeField()
    first_address = models.GenericIPAddressField(null=True, blank=True)
    second_address = models.GenericIPAddressField(null=True, blank=True)
    same_user_agent = models.BooleanField()

    class Meta:
        ordering = ["-detected_at"]
        constraints = [
            models.UniqueConstraint(fields=["first_session", "second_session"],
                                    name="one_flag_per_session_pair"),
        ]

    def __str__(self):
        return f"shared use of user {self.user_id} at {self.detected_at:%Y-%m-%d %H:%M}"


# Activation links, where a person sets the credentials nobody else holds (issue 16), and
# second-factor devices with their secrets sealed or hashed (docs/adr/0005).
from etanche.accounts.activation import Activation  # noqa: E402, F401

# Personal API tokens of the FHIR API, stored as keyed digests (accounts/tokens.py).
from etanche.accounts.apitoken import ApiToken  # noqa: E402, F401
from etanche.accounts.devices import (  # noqa: E402, F401
    RecoveryCode,
    RecoveryCodeDevice,
    SealedTOTPDevice,
)

# Sessions that keep only a keyed hash of their key (SESSION_ENGINE).
from etanche.accounts.session_store import HashedSession  # noqa: E402, F401
