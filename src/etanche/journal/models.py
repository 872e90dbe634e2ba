"""The journal: who did what to which record, when, why, with what outcome.

No foreign keys (auditing must never block or cascade with live data) and no
personal data: records are referenced by pseudonymous ids, searches by the kind
of criteria. Integrity comes from a MAC chain per lab (see chain.py).
"""

from django.db import models

from etanche.journal.chain import from_micros


class Action(models.TextChoices):
    # accounts
    LOGIN = "login", "connexion"
    LOGIN_FAILED = "login-failed", "échec de connexion"
    LOGOUT = "logout", "déconnexion"
    LOCKOUT = "lockout", "verrouillage du compte"
    UNLOCK = "unlock", "déverrouillage du compte"
    MFA_ENROL = "mfa-enrol", "enrôlement MFA"
    MFA_RESET = "mfa-reset", "réinitialisation MFA"
    PASSWORD_CHANGE = "password-change", "changement de mot de passe"
    USER_CREATE = "user-create", "création de compte"
    USER_UPDATE = "user-update", "modification de compte"
    USER_DISABLE = "user-disable", "désactivation de compte"
    SHARED_USE = "shared-use", "usage partagé suspecté"
    TOKEN_CREATE = "token-create", "création d'un jeton d'API"
    TOKEN_REVOKE = "token-revoke", "révocation d'un jeton d'API"
    TOKEN_LOCKOUT = "token-lockout", "verrouillage d'un jeton d'API"
    API_DENIED = "api-denied", "accès à l'API refusé"
    BREAK_GLASS = "break-glass", "accès d'urgence"
    ALERT_TRIAGE = "alert-triage", "traitement d'une alerte"
    WATCH_SETTINGS = "watch-settings", "réglage de la surveillance"
    # labs and keys
    LAB_CREATE = "lab-create", "création de laboratoire"
    KEY_ROTATE = "key-rotate", "rotation de clés"
    KEY_SHRED = "key-shred", "destruction de clés"
    KEY_ESCROW = "key-escrow", "séquestre de la clé maîtresse"
    KEY_RECOVER = "key-recover", "reconstitution de la clé maîtresse"
    BACKUP = "backup", "sauvegarde"
    RESTORE = "restore", "restauration"
    # personal data
    READ = "read", "consultation"
    SEARCH = "search", "recherche"
    CREATE = "create", "création"
    UPDATE = "update", "modification"
    MERGE = "merge", "fusion"
    UNMERGE = "unmerge", "annulation de fusion"
    SUBJECT_REQUEST = "subject-request", "demande d'exercice d'un droit (RGPD)"
    SUBJECT_ANSWER = "subject-answer", "réponse à une demande de droit (RGPD)"
    RETENTION = "retention", "suppression à l'échéance de conservation"
    AUDIT = "audit", "auto-audit de l'installation"
    DELETE = "delete", "suppression"
    PRINT = "print", "impression"
    # exports and imports
    EXPORT_REQUEST = "export-request", "demande d'export"
    EXPORT_APPROVE = "export-approve", "approbation d'export"
    EXPORT_DOWNLOAD = "export-download", "téléchargement d'export"
    EXPORT_PURGE = "export-purge", "purge d'export"
    BREACH_SCAN = "breach-scan", "analyse d'un fichier divulgué"
    BREACH_CASE = "breach-case", "dossier de violation de données"
    BREACH_DRAFT = "breach-draft", "brouillon de notification de violation"
    IMPORT = "import", "import"
    # interop (HL7 to the analytical LIS)
    INTEROP_SEND = "interop-send", "message HL7 envoyé"
    INTEROP_STATUS = "interop-status", "statut reçu du plateau technique"
    INTEROP_OUTBOX = "interop-outbox", "gestion de la file HL7"
    INTEROP_DESTINATION = "interop-destination", "configuration d'une destination HL7"
    # the journal itself
    JOURNAL_VIEW = "journal-view", "consultation du journal"
    JOURNAL_EXPORT = "journal-export", "export du journal"
    JOURNAL_PURGE = "journal-purge", "purge du journal (rétention)"
    CHECKPOINT = "checkpoint", "point de contrôle"
    CHAIN_START = "chain-start", "début de chaîne"
    CHAIN_END = "chain-end", "fin de chaîne"


class Outcome(models.TextChoices):
    OK = "ok", "réussi"
    DENIED = "denied", "refusé"
    FAILED = "failed", "échoué"


class Kind(models.TextChoices):
    START = "start"
    ENTRY = "entry"
    END = "end"


class Chain(models.Model):
    """One chain per lab, plus the "system" chain for events with no lab.

    `state` is sealed: it holds the current evolving MAC key, the head (last
    sequence number and MAC) and the first sequence number that must exist, so
    that neither the tail nor the head can be cut without notice.
    """

    name = models.CharField(max_length=40, unique=True)
    lab_id = models.BigIntegerField(null=True, blank=True)
    state = models.BinaryField()
    closed = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "journal_chain"

    def __str__(self):
        return self.name


class Entry(models.Model):
    # Indexes are written on every append: none that another one already covers
    # (the unique (chain, seq) serves the chain; the composites below lead with lab_id).
    chain = models.ForeignKey(Chain, on_delete=models.PROTECT, db_constraint=True,
                              db_index=False)
    seq = models.BigIntegerField()
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.ENTRY)
    # Microseconds since the epoch (UTC): an integer hashes and reads fast and
    # the same on every database, which verification at 10^6 entries/s needs.
    at_us = models.BigIntegerField()
    lab_id = models.BigIntegerField(null=True, blank=True)
    user_id = models.BigIntegerField(null=True, blank=True)
    actor = models.CharField(max_length=200)
    # No choices on the column: every app adds its actions to Action, record() refuses any
    # other, and a new action is not a migration of the journal (docs/journal.md).
    action = models.CharField(max_length=32)
    object_type = models.CharField(max_length=40, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    purpose = models.CharField(max_length=200, blank=True)
    outcome = models.CharField(max_length=8, choices=Outcome.choices, default=Outcome.OK)
    detail = models.TextField(blank=True)
    mac = models.BinaryField()
    # Sealed MAC key at this position: set on the first entry and on the first
    # entry kept after a retention purge, where verification starts.
    anchor = models.BinaryField(null=True, blank=True)

    class Meta:
        db_table = "journal_entry"
        ordering = ["chain_id", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["chain", "seq"], name="journal_entry_chain_seq"),
        ]
        indexes = [
            models.Index(fields=["lab_id", "object_type", "object_id"], name="journal_object"),
            models.Index(fields=["lab_id", "user_id", "at_us"], name="journal_user_at"),
            models.Index(fields=["lab_id", "at_us"], name="journal_lab_at"),
        ]

    def __str__(self):
        return f"{self.chain_id}#{self.seq} {self.action}"

    @property
    def at(self):
        return from_micros(self.at_us)

    @property
    def action_label(self) -> str:
        """The French name of the action (an entry of a retired action keeps its code)."""
        try:
            return Action(self.action).label
        except ValueError:
            return self.action


class Cursor(models.Model):
    """How far a consumer of the journal feed has read one chain (journal/feed.py)."""

    consumer = models.CharField(max_length=40)
    chain = models.ForeignKey(Chain, on_delete=models.CASCADE)
    seq = models.BigIntegerField(default=-1)  # a chain starts at 0: -1 is "none yet"

    class Meta:
        db_table = "journal_cursor"
        constraints = [models.UniqueConstraint(fields=["consumer", "chain"],
                                               name="journal_cursor_consumer_chain")]

    def __str__(self):
        return f"{self.consumer}@{self.chain_id}#{self.seq}"


class Registry(models.Model):
    """The one row listing every chain and its head, MACed by the vault (journal/registry.py).

    Updated in the transaction of every append, so that a chain deleted, restarted or
    written back to an older head contradicts it; nothing in it is secret.
    """

    body = models.TextField()
    mac = models.BinaryField()

    class Meta:
        db_table = "journal_registry"

    def __str__(self):
        return "registry"
