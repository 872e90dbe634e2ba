"""Staff accounts: named persons, their role in each lab, and the security state around them.

Staff identity (names, work email) is not patient data and stays in clear; the
throttling table holds keyed hashes only, so it reveals no username or address.
"""

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models


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
    FRONTDESK = "frontdesk", "Accueil / prélèvement"
    BIOLOGIST = "biologist", "Biologiste"
    LABADMIN = "labadmin", "Administrateur du laboratoire"
    DPO = "dpo", "Délégué à la protection des données"
    AUDITOR = "auditor", "Auditeur"


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
    """Failed logins per account or per client address, keyed by an HMAC.

    The key is a keyed hash so the table lists neither usernames nor addresses.
    """

    class Kind(models.TextChoices):
        ACCOUNT = "account"
        ADDRESS = "address"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    key = models.CharField(max_length=64)
    failures = models.PositiveIntegerField(default=0)
    window_start = models.DateTimeField()
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "key"], name="one_counter_per_key"),
        ]

    def __str__(self):
        return f"{self.kind}:{self.key[:8]}"


class SessionRecord(models.Model):
    """One live login, so users see their sessions and shared use can be spotted."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="session_records")
    session_key = models.CharField(max_length=40, unique=True)
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


# Second-factor devices with their secrets sealed or hashed (docs/adr/0005).
from etanche.accounts.devices import (  # noqa: E402, F401
    RecoveryCode,
    RecoveryCodeDevice,
    SealedTOTPDevice,
)
