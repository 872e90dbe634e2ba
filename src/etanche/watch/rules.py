"""The alert rules: one table, what each reads, its default thresholds.

Each rule names the journal actions it reads (`actions`); the worker's watch round
(watch/engine.py) passes each new entry of the journal feed once to the rules that
read its action. Thresholds are per lab and per role (WatchSettings, the lab
admin's page); `threshold` and `minutes` here are the defaults. `minutes` is also
the deduplication window: a second hit of the same rule on the same person and
subject while an alert of theirs is open and was last seen within it adds to that
alert's count instead of raising another.

Rules the worker checks itself rather than from an entry (`actions` empty): the
journal's verification and its checkpoints (watch/integrity.py).
"""

from dataclasses import dataclass, field

from etanche.accounts.models import Role
from etanche.journal.models import Action
from etanche.watch.models import Severity


@dataclass(frozen=True)
class Rule:
    id: str
    title: str  # French, as the DPO reads it
    severity: str
    reads: str  # what it reads, in words (the lab admin's page shows it)
    actions: tuple[str, ...] = ()
    threshold: int | None = None  # None: every matching entry is a hit
    minutes: int = 60
    by_role: dict[str, int] = field(default_factory=dict)


_PATIENT_TOUCH = (Action.READ, Action.SEARCH, Action.UPDATE, Action.PRINT, Action.MERGE,
                  Action.DELETE, Action.CREATE)
_EXPORTS = (Action.EXPORT_REQUEST, Action.EXPORT_APPROVE, Action.EXPORT_DOWNLOAD)

RULES: list[Rule] = [
    Rule("bulk-reads", "Consultations en masse de dossiers", Severity.HIGH,
         "patients distincts consultés par une personne dans la fenêtre (seuil par rôle)",
         (Action.READ,), threshold=50, minutes=10,
         by_role={Role.FRONTDESK: 50, Role.BIOLOGIST: 100, Role.DPO: 50}),
    Rule("enumeration", "Recherches en série aux résultats nombreux", Severity.HIGH,
         "recherches d'une personne renvoyant au moins 5 candidats (ou refusées comme trop "
         "vagues) dans la fenêtre", (Action.SEARCH,), threshold=5, minutes=10),
    Rule("export-off-hours", "Export hors des heures d'ouverture", Severity.HIGH,
         "demandes, approbations et téléchargements d'export hors des heures du laboratoire",
         _EXPORTS, minutes=60),
    Rule("export-large", "Export d'un grand nombre de patients", Severity.HIGH,
         "demandes d'export de plus de N patients (tout le laboratoire compte pour tous)",
         (Action.EXPORT_REQUEST,), threshold=10_000, minutes=60),
    Rule("login-burst-account", "Échecs de connexion répétés sur un compte", Severity.WARNING,
         "échecs de connexion (mot de passe ou code) sur un même compte dans la fenêtre",
         (Action.LOGIN_FAILED,), threshold=5, minutes=15),
    Rule("login-burst-address", "Rafale d'échecs de connexion depuis une adresse",
         Severity.HIGH, "rafales d'échecs détectées par adresse ou sur toute l'instance",
         (Action.LOCKOUT,), minutes=60),
    Rule("account-locked", "Compte ralenti après des échecs", Severity.WARNING,
         "comptes mis en attente après des échecs répétés", (Action.LOCKOUT,), minutes=60),
    Rule("mfa-failures", "Second facteur refusé à répétition", Severity.HIGH,
         "codes de second facteur refusés sur un même compte (mot de passe juste)",
         (Action.LOGIN_FAILED,), threshold=3, minutes=15),
    Rule("api-denied", "Refus répétés sur un jeton d'API", Severity.WARNING,
         "autorisations refusées à un même jeton d'API personnel (ressource ou opération hors "
         "de son rôle) dans la fenêtre", (Action.API_DENIED,), threshold=5, minutes=15),
    Rule("token-lockout", "Jeton d'API verrouillé après des refus", Severity.HIGH,
         "jetons d'API personnels verrouillés après des refus répétés",
         (Action.TOKEN_LOCKOUT,), minutes=60),
    Rule("privacy-namesake", "Dossier d'un patient portant le nom de naissance du salarié",
         Severity.WARNING, "consultations comparées à l'identité scellée du salarié (index)",
         (Action.READ,), minutes=24 * 60),
    Rule("privacy-phone", "Dossier d'un patient partageant le téléphone du salarié",
         Severity.HIGH, "consultations comparées au téléphone scellé du salarié (index)",
         (Action.READ,), minutes=24 * 60),
    Rule("privacy-address", "Dossier d'un patient habitant à l'adresse du salarié",
         Severity.HIGH, "consultations comparées à l'adresse postale scellée du salarié (index)",
         (Action.READ,), minutes=24 * 60),
    Rule("privacy-coworker", "Dossier d'un membre du personnel du laboratoire",
         Severity.HIGH, "consultations d'un patient qui est un salarié du laboratoire (index)",
         (Action.READ,), minutes=24 * 60),
    Rule("honeypot", "Patient leurre touché", Severity.CRITICAL,
         "toute consultation, apparition en recherche, modification, impression ou export "
         "d'un patient leurre", (*_PATIENT_TOUCH, Action.EXPORT_REQUEST), minutes=60),
    Rule("journal-verify", "Vérification du journal en échec", Severity.CRITICAL,
         "vérification périodique des chaînes du journal par le worker", minutes=24 * 60),
    Rule("journal-checkpoint", "Point de contrôle du journal manquant ou incohérent",
         Severity.CRITICAL, "points de contrôle expédiés comparés au journal", minutes=24 * 60),
    Rule("key-rotation", "Rotation de clés", Severity.WARNING, "rotations de clés",
         (Action.KEY_ROTATE,), minutes=60),
    Rule("lab-shred", "Destruction des clés d'un laboratoire", Severity.CRITICAL,
         "destruction des clés (fermeture d'un laboratoire)", (Action.KEY_SHRED,), minutes=60),
    Rule("role-granted", "Rôle attribué à un compte", Severity.WARNING,
         "création de compte et changement de rôle", (Action.USER_CREATE, Action.USER_UPDATE),
         minutes=60),
    Rule("break-glass", "Accès d'urgence (bris de glace)", Severity.HIGH,
         "accès hors du périmètre habituel, avec leur motif", (Action.BREAK_GLASS,), minutes=60),
]

BY_ID: dict[str, Rule] = {rule.id: rule for rule in RULES}
TEST_RULE = Rule("test", "Alerte de test", Severity.INFO, "etanche alerts test", minutes=0)


def get(rule_id: str) -> Rule:
    return TEST_RULE if rule_id == TEST_RULE.id else BY_ID[rule_id]


def reading(action: str) -> list[Rule]:
    return _BY_ACTION.get(action, [])


_BY_ACTION: dict[str, list[Rule]] = {}
for _rule in RULES:
    for _action in _rule.actions:
        _BY_ACTION.setdefault(str(_action), []).append(_rule)
