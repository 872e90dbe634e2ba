"""Canaries: synthetic patients that no real workflow touches, registered sealed.

A canary is not a Patient row: it never shows in search, lists or counts.
Its identity (and the request it carries in an export) is sealed; the blind
indexes beside it are those of the patients app, so a leak scan that indexes
a leaked row can find the canary without unsealing every patient, and its
`export_id` names the export the leaked file came from.
"""

from django.db import models

from etanche.labs.models import LabQuerySet
from etanche.lib.personal_data import Protection as P
from etanche.vault.sealed import SealedModel

# The patients app's index names (vault/indexes.py), one column each.
CANARY_INDEXES = ("nir", "birth_name_dob", "phonetic_dob", "email", "phone")


class Canary(SealedModel):
    EXPORT = "export"
    LAB = "lab"
    KINDS = [(EXPORT, "export"), (LAB, "lab")]
    # What names the leaked export: bound to the envelope (vault/sealed.py).
    BOUND_FIELDS = ("kind", "export_id", "marker", "request_number")

    kind = models.CharField(max_length=8, choices=KINDS)
    # No foreign key: the canary outlives the export row's purge and must still name it.
    export_id = models.BigIntegerField(null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Research exports carry no identity: their canary is found by its pseudonym.
    marker = models.CharField(max_length=40, blank=True, db_index=True)
    request_number = models.CharField(max_length=16, blank=True, db_index=True)
    nir_index = models.IntegerField(null=True)
    birth_name_dob_index = models.IntegerField(null=True)
    phonetic_dob_index = models.IntegerField(null=True)
    email_index = models.IntegerField(null=True)
    phone_index = models.IntegerField(null=True)

    objects = LabQuerySet.as_manager()

    PERSONAL_DATA = {
        # Synthetic people: sealed all the same, so a canary looks like a patient at rest too.
        "id": P.PSEUDONYMOUS, "lab": P.PSEUDONYMOUS, "sealed": P.SEALED, "key_version": P.NONE,
        "revision": P.NONE,
        "kind": P.NONE, "export_id": P.PSEUDONYMOUS, "created_at": P.PSEUDONYMOUS,
        "marker": P.PSEUDONYMOUS, "request_number": P.PSEUDONYMOUS,
        **{f"{name}_index": P.BLIND_INDEX for name in CANARY_INDEXES},
    }

    class Meta:
        indexes = [models.Index(fields=["lab", f"{name}_index"], name=f"canary_{name}")
                   for name in CANARY_INDEXES]

    def __str__(self):
        return f"canary #{self.pk} ({self.kind} {self.export_id or ''})".strip()


# --- alerts ---------------------------------------------------------------------------------

class Severity(models.TextChoices):
    INFO = "info", "information"
    WARNING = "warning", "avertissement"
    HIGH = "high", "élevée"
    CRITICAL = "critical", "critique"


class AlertState(models.TextChoices):
    OPEN = "open", "ouverte"
    ACKNOWLEDGED = "ack", "prise en compte"
    CLOSED = "closed", "close"


class Resolution(models.TextChoices):
    NONE = "", "—"
    JUSTIFIED = "justified", "justifiée"
    INCIDENT = "incident", "incident"


class Alert(SealedModel):
    """One alert of one rule (watch/rules.py) about one person or one subject, in a window.

    In clear: the rule, the staff member's account id, counts and times, what the DPO
    did. Sealed: what points at patients (their ids), the journal entries behind the
    alert and the triage comment, which may name anyone.
    """

    BOUND_FIELDS = ("rule", "user_id", "subject")

    rule = models.CharField(max_length=40)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    user_id = models.BigIntegerField(null=True, blank=True)
    # What the alert is about beyond the person, as a keyed digest or an id (an account
    # id, an export id, a digest of an address): two subjects, two alerts.
    subject = models.CharField(max_length=64, blank=True)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    count = models.PositiveIntegerField(default=1)
    state = models.CharField(max_length=8, choices=AlertState.choices, default=AlertState.OPEN)
    resolution = models.CharField(max_length=10, choices=Resolution.choices, blank=True)
    acknowledged_by_id = models.BigIntegerField(null=True, blank=True)
    closed_by_id = models.BigIntegerField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    test = models.BooleanField(default=False)
    # The breach case opened from this alert (breach.BreachCase, an app above watch: an id,
    # not a foreign key).
    breach_case_id = models.BigIntegerField(null=True, blank=True)

    objects = LabQuerySet.as_manager()

    PERSONAL_DATA = {
        "id": P.PSEUDONYMOUS, "lab": P.PSEUDONYMOUS, "sealed": P.SEALED, "key_version": P.NONE,
        "revision": P.NONE, "rule": P.NONE, "severity": P.NONE,
        "user_id": P.PSEUDONYMOUS, "subject": P.PSEUDONYMOUS,
        "first_seen": P.PSEUDONYMOUS, "last_seen": P.PSEUDONYMOUS, "count": P.NONE,
        "state": P.NONE, "resolution": P.NONE, "acknowledged_by_id": P.PSEUDONYMOUS,
        "closed_by_id": P.PSEUDONYMOUS, "closed_at": P.PSEUDONYMOUS, "test": P.NONE,
        "breach_case_id": P.NONE,
    }

    class Meta:
        indexes = [models.Index(fields=["lab", "rule", "user_id", "subject", "last_seen"],
                                name="alert_dedup"),
                   models.Index(fields=["lab", "state", "last_seen"], name="alert_list")]

    def __str__(self):
        return f"alert #{self.pk} {self.rule}"


class Delivery(models.Model):
    """The outbox: one row per alert and target, sent by the worker, retried with back-off.

    The message is built at send time from the alert's clear columns (ids, rule, counts,
    a link): nothing personal is ever stored here or sent."""

    PENDING = "pending"
    SENT = "sent"
    STATES = [(PENDING, "à envoyer"), (SENT, "envoyée")]

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="deliveries")
    lab = models.ForeignKey("labs.Lab", on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=8)  # email, syslog, webhook
    target = models.CharField(max_length=300)  # where, without any secret
    state = models.CharField(max_length=8, choices=STATES, default=PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_error = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    objects = LabQuerySet.as_manager()

    PERSONAL_DATA = {
        "id": P.NONE, "alert": P.PSEUDONYMOUS, "lab": P.PSEUDONYMOUS, "channel": P.NONE,
        "target": P.STAFF_CLEAR, "state": P.NONE, "attempts": P.NONE,
        "next_attempt_at": P.NONE, "last_error": P.NONE, "created_at": P.PSEUDONYMOUS,
        "sent_at": P.PSEUDONYMOUS,
    }

    class Meta:
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="delivery_due")]

    def __str__(self):
        return f"delivery #{self.pk} {self.channel} {self.state}"


class WatchSettings(models.Model):
    """A lab's thresholds, opening hours and delivery targets (the lab admin's page);
    what is left empty takes the instance's defaults (settings.py, watch/rules.py)."""

    lab = models.OneToOneField("labs.Lab", on_delete=models.CASCADE, related_name="+")
    # {rule id: {"threshold": n, "minutes": m, "by_role": {role: n}}}
    thresholds = models.JSONField(default=dict, blank=True)
    # {"days": [0..6, Monday=0], "open": "07:00", "close": "20:00"}
    hours = models.JSONField(default=dict, blank=True)
    email_to = models.CharField(max_length=500, blank=True)
    syslog = models.CharField(max_length=300, blank=True)
    webhook = models.CharField(max_length=300, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    PERSONAL_DATA = {
        "id": P.NONE, "lab": P.PSEUDONYMOUS, "thresholds": P.NONE, "hours": P.NONE,
        "email_to": P.STAFF_CLEAR, "syslog": P.NONE, "webhook": P.NONE,
        "updated_at": P.NONE,
    }

    def __str__(self):
        return f"watch settings of lab {self.lab_id}"


class LabCanary(models.Model):
    """A honeypot patient of the lab: a real Patient row, named here only by a keyed digest
    of its id (vault.derive_key), so a dump does not tell which rows are canaries."""

    lab = models.ForeignKey("labs.Lab", on_delete=models.PROTECT, related_name="+")
    digest = models.CharField(max_length=64)

    objects = LabQuerySet.as_manager()

    PERSONAL_DATA = {"id": P.NONE, "lab": P.PSEUDONYMOUS, "digest": P.HASHED}

    class Meta:
        constraints = [models.UniqueConstraint(fields=["lab", "digest"],
                                               name="lab_canary_once")]

    def __str__(self):
        return f"lab canary #{self.pk}"


class StaffIdentity(SealedModel):
    """What the privacy rules compare a read patient with: a staff member's birth name, birth
    date, phone, NIR and postal address, sealed, with the patients' blind indexes beside
    them (same keys, so a read patient's index values are compared without unsealing
    anyone)."""

    BOUND_FIELDS = ("user_id",)

    user_id = models.BigIntegerField()
    nir_index = models.IntegerField(null=True)
    birth_name_dob_index = models.IntegerField(null=True)
    surname_index = models.IntegerField(null=True)
    phone_index = models.IntegerField(null=True)
    address_index = models.IntegerField(null=True)

    objects = LabQuerySet.as_manager()

    PERSONAL_DATA = {
        "id": P.PSEUDONYMOUS, "lab": P.PSEUDONYMOUS, "sealed": P.SEALED, "key_version": P.NONE,
        "revision": P.NONE, "user_id": P.PSEUDONYMOUS, "nir_index": P.BLIND_INDEX,
        "birth_name_dob_index": P.BLIND_INDEX, "surname_index": P.BLIND_INDEX,
        "phone_index": P.BLIND_INDEX, "address_index": P.BLIND_INDEX,
    }

    class Meta:
        constraints = [models.UniqueConstraint(fields=["lab", "user_id"],
                                               name="staff_identity_once")]

    def __str__(self):
        return f"staff identity of user {self.user_id}"


class GlassReason(models.TextChoices):
    EMERGENCY = "emergency", "urgence médicale"
    PATIENT_REQUEST = "patient-request", "demande du patient"
    DPO_INQUIRY = "dpo-inquiry", "enquête du DPO (droits, incident)"
    REPLACEMENT = "replacement", "remplacement d'un collègue"
    OTHER = "other", "autre (préciser)"


class GlassGrant(SealedModel):
    """Break-the-glass: one person may open, for a limited time, what their role does not
    normally open, for a stated reason (the free text is sealed: it may name anyone)."""

    BOUND_FIELDS = ("user_id", "scope", "object_id")

    user_id = models.BigIntegerField()
    scope = models.CharField(max_length=20)  # what it opens: "clinical" of one request
    object_id = models.BigIntegerField()  # the request (order) id
    reason = models.CharField(max_length=20, choices=GlassReason.choices)
    granted_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    objects = LabQuerySet.as_manager()

    PERSONAL_DATA = {
        "id": P.PSEUDONYMOUS, "lab": P.PSEUDONYMOUS, "sealed": P.SEALED, "key_version": P.NONE,
        "revision": P.NONE, "user_id": P.PSEUDONYMOUS, "scope": P.NONE,
        "object_id": P.PSEUDONYMOUS, "reason": P.NONE, "granted_at": P.PSEUDONYMOUS,
        "expires_at": P.PSEUDONYMOUS,
    }

    class Meta:
        indexes = [models.Index(fields=["lab", "user_id", "scope", "object_id"],
                                name="glass_grant_lookup")]

    def __str__(self):
        return f"break-glass #{self.pk}"
