"""The stored form of a personal API token (the services are in accounts/tokens.py).

Apart from tokens.py so that accounts.models can register it without importing the
permission table, which imports accounts.models.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from etanche.lib.personal_data import Protection as P


class ApiToken(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                             related_name="api_tokens")
    lab = models.ForeignKey("labs.Lab", on_delete=models.PROTECT, related_name="+")
    # The role held when the token was made: the token never gains from a later promotion.
    role = models.CharField(max_length=20)
    label = models.CharField(max_length=100)
    digest = models.CharField(max_length=64, unique=True)
    scopes = models.CharField(max_length=1000)  # space-separated
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    failures = models.PositiveIntegerField(default=0)
    locked_at = models.DateTimeField(null=True, blank=True)

    PERSONAL_DATA = {
        "id": P.NONE, "user": P.PSEUDONYMOUS, "lab": P.PSEUDONYMOUS, "role": P.NONE,
        "label": P.STAFF_CLEAR, "digest": P.HASHED, "scopes": P.NONE,
        "created_at": P.STAFF_CLEAR, "expires_at": P.NONE, "revoked_at": P.STAFF_CLEAR,
        "last_used_at": P.STAFF_CLEAR, "failures": P.NONE, "locked_at": P.NONE,
    }

    class Meta:
        db_table = "accounts_api_token"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "lab"], name="api_token_owner")]

    def __str__(self):
        return f"API token {self.pk} of user {self.user_id}"

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()

    @property
    def state(self) -> str:
        """French: active, expiré, révoqué, verrouillé."""
        if self.revoked_at:
            return "révoqué"
        if self.locked_at:
            return "verrouillé"
        if self.expires_at <= timezone.now():
            return "expiré"
        return "actif"
