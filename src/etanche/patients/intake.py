"""Input of a patient record (form, CLI JSON, import) -> the checked sealed envelope.

`clean(data)` checks every field with the identity layer and returns
`Cleaned(envelope, warnings)` or raises one ValidationError whose
`message_dict` maps each faulty field to its French message(s). Nothing here
touches the database or the vault.

Input keys (INPUT_FIELDS): the INS traits `birth_name`, `first_names` (list),
`birth_date` (YYYY-MM-DD), `sex` (M/F), `birthplace_code` (INSEE commune code,
or 99 + country code); `used_name`, `used_first_name`; `nir` (the patient's own
INS number, NIR or NIA; alias `ins`) and `ins_oid` (default: NIR OID);
`identity_status` (PROV default; VALI with `id_document` = {"kind": "cni" |
"passeport" | "titre_sejour", "checked_on": date}); `street`, `postal_code`,
`city`; `phone` and/or `phones` (list); `email`; `amo_regime` (2 digits),
`amo_fund` (3), `amo_centre` (4), `insured_nir` (the NIR of the insured person whose
card covers the patient: a parent's, a spouse's; checked for its key only, never
compared with the patient's own, and never a duplicate criterion); `amc_insurer`, `amc_contract`;
`physician_name`, `physician_rpps` (11 digits); `blood_group`; `notes`.
"""

import re
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from django.core.exceptions import ValidationError

from etanche.patients import nir as nirs
from etanche.patients import status, validators
from etanche.patients.bloodgroups import normalize_blood_group
from etanche.patients.names import check_name, checked_name

REQUIRED = ("birth_name", "first_names", "birth_date", "sex", "birthplace_code")
INPUT_FIELDS = (
    *REQUIRED, "used_name", "used_first_name", "nir", "ins", "ins_oid", "identity_status",
    "id_document", "street", "postal_code", "city", "phone", "phones", "email", "amo_regime",
    "amo_fund", "amo_centre", "amc_insurer", "amc_contract", "physician_name", "physician_rpps",
    "blood_group", "notes", "insured_nir",
)  # fmt: skip
# What the sealed envelope holds (schema version 1): every identifying field, nothing else.
ENVELOPE_FIELDS = (
    "birth_name", "first_names", "used_name", "used_first_name", "birth_date", "sex",
    "birthplace_code", "birthplace_label", "ins", "ins_oid", "identity_status", "id_document",
    "street", "postal_code", "city", "phones", "email", "amo_regime", "amo_fund", "amo_centre",
    "amc_insurer", "amc_contract", "physician_name", "physician_rpps", "blood_group", "notes",
    "insured_nir",
)  # fmt: skip
_INPUT_NAMES = frozenset(INPUT_FIELDS)
INS_TRAITS = ("birth_name", "first_names", "birth_date", "sex", "birthplace_code")
MAX_FIRST_NAMES = 10
MAX_TEXT = 200
MAX_NOTES = 4000

_DIGITS = {
    "postal_code": (5, "Le code postal doit comporter 5 chiffres."),
    "amo_regime": (2, "Le code du régime d'assurance maladie doit comporter 2 chiffres."),
    "amo_fund": (3, "Le code de la caisse d'assurance maladie doit comporter 3 chiffres."),
    "amo_centre": (4, "Le code du centre de gestion doit comporter 4 chiffres."),
}
_TEXTS = {
    "street": "L'adresse",
    "city": "La commune",
    "amc_insurer": "Le nom de l'organisme complémentaire",
    "amc_contract": "Le numéro de contrat complémentaire",
    "physician_name": "Le nom du médecin traitant",
}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


# The consumer mail domains most used in France (the big webmails and the access
# providers' historical domains). A domain one typing slip away from one of them
# ("gmial.com", "hotmial.fr", "gmail.con") is most likely a typo: a warning, not a
# refusal, since a real domain may be that close (issue 24, item 14).
COMMON_MAIL_DOMAINS = (
    "gmail.com", "hotmail.fr", "hotmail.com", "outlook.fr", "outlook.com", "live.fr",
    "live.com", "msn.com", "yahoo.fr", "yahoo.com", "icloud.com", "orange.fr", "wanadoo.fr",
    "free.fr", "sfr.fr", "neuf.fr", "laposte.net", "bbox.fr", "aol.com", "gmx.fr",
)  # fmt: skip


_KNOWN_DOMAINS = frozenset(COMMON_MAIL_DOMAINS)


def _one_slip_apart(a: str, b: str) -> bool:
    """One letter changed, added, removed, or two neighbours swapped."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1
                                  and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    short, long = sorted((a, b), key=len)
    return any(long[:i] + long[i + 1:] == short for i in range(len(long)))


def _one_deletion(text: str) -> set[str]:
    return {text, *(text[:i] + text[i + 1:] for i in range(len(text)))}


def _slip_index() -> dict[str, tuple[str, ...]]:
    # Two strings one slip apart (changed, added, removed or swapped letters) always share a
    # string among themselves and their one-letter deletions: indexing the known domains by
    # those strings narrows the 20 comparisons of each address to the few that can match.
    index: dict[str, list[str]] = {}
    for known in COMMON_MAIL_DOMAINS:
        for key in _one_deletion(known):
            index.setdefault(key, []).append(known)
    return {key: tuple(found) for key, found in index.items()}


_SLIP_INDEX = _slip_index()
_ORDER = {known: i for i, known in enumerate(COMMON_MAIL_DOMAINS)}


@lru_cache(maxsize=4096)  # domains repeat across a lab's addresses (an import's 500,000)
def _looks_like(domain: str) -> str:
    """The first known domain (in COMMON_MAIL_DOMAINS' order) one slip from `domain`, or ""."""
    candidates = {known for key in _one_deletion(domain) for known in _SLIP_INDEX.get(key, ())}
    matches = [known for known in candidates if _one_slip_apart(domain, known)]
    return min(matches, key=_ORDER.__getitem__) if matches else ""


def email_domain_warning(email: str) -> str:
    """A French warning when the domain looks like a typo of a common one, else ""."""
    domain = email.rpartition("@")[2].lower()
    if domain in _KNOWN_DOMAINS:  # no two known domains are one slip apart (tests/patients)
        return ""
    known = _looks_like(domain)
    if not known:
        return ""
    # The typed value is not repeated (messages never echo personal data).
    return (f"Le domaine de l'adresse e-mail ressemble à « {known} » sans l'être : "
            "vérifiez l'adresse (elle a été enregistrée telle quelle).")


@dataclass
class Cleaned:
    envelope: dict
    warnings: list[str] = field(default_factory=list)


def _text(value, what: str, limit: int = MAX_TEXT) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError(f"{what} doit être un texte.", code="text_type")
    text = " ".join(value.split()) if limit <= MAX_TEXT else value.strip()
    if len(text) > limit:
        raise ValidationError(f"{what} dépasse {limit} caractères.", code="text_length")
    if _CONTROL.search(text):
        raise ValidationError(f"{what} contient des caractères de contrôle.", code="text_control")
    return text


def _ins_name(value, *, what: str) -> str:
    """A birth or used name in the INS writing (capitals without accents: docs/identity.md),
    stored so whatever was typed ("Le Guérec", "le guerec") reads the same everywhere."""
    return checked_name(value, what=what)[1]


def _first_names(value) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple) or not value:
        raise ValidationError(
            "Indiquez au moins un prénom de naissance (liste des prénoms).", code="first_names"
        )
    if len(value) > MAX_FIRST_NAMES:
        raise ValidationError(
            f"Pas plus de {MAX_FIRST_NAMES} prénoms de naissance.", code="first_names_count"
        )
    names = []
    for position, name in enumerate(value, 1):
        if not isinstance(name, str):
            raise ValidationError("Chaque prénom doit être un texte.", code="first_names_type")
        names.append(check_name(name, what=f"Le prénom n° {position}"))
    return names


def _sex(value) -> str:
    text = (value or "").strip().upper() if isinstance(value, str) else ""
    if text not in ("M", "F"):
        raise ValidationError("Le sexe doit être M ou F.", code="sex")
    return text


def _phones(data: dict) -> list[str]:
    raw = []
    if data.get("phone"):
        raw.append(data["phone"])
    extra = data.get("phones") or []
    if not isinstance(extra, list | tuple):
        extra = [extra]
    raw += list(extra)
    phones = []
    for value in raw:
        if not isinstance(value, str):
            raise ValidationError("Le numéro de téléphone doit être un texte.", code="phone_type")
        number = validators.normalize_phone(value)
        if number not in phones:
            phones.append(number)
    return phones


def _document(value, user_ref: str) -> dict | None:
    if not value:
        return None
    if not isinstance(value, dict):
        raise ValidationError(
            "Le contrôle de pièce d'identité doit indiquer la pièce et la date du contrôle.",
            code="document_shape",
        )
    checked_on = validators.parse_date(value.get("checked_on"), what="La date du contrôle")
    check = status.DocumentCheck(
        kind=str(value.get("kind") or ""),
        checked_on=checked_on,
        checked_by=str(value.get("checked_by") or user_ref),
    )
    status.check_document(check)
    return {"kind": check.kind, "checked_on": check.checked_on.isoformat(),
            "checked_by": check.checked_by}


class _Errors:
    def __init__(self):
        self.by_field: dict[str, list[str]] = {}

    def run(self, name: str, check, *args, **kwargs):
        try:
            return check(*args, **kwargs)
        except ValidationError as exc:
            self.by_field.setdefault(name, []).extend(exc.messages)
            return None


def clean(data: dict, *, current_status: str = status.IdentityStatus.PROV,
          user_ref: str = "") -> Cleaned:
    """Check an input dict; `current_status` is the record's status before this change."""
    if not isinstance(data, dict):
        raise ValidationError({"__all__": ["Les données du patient doivent être un objet."]})
    errors = _Errors()
    for key in data:
        if key not in _INPUT_NAMES:
            errors.by_field.setdefault(key, []).append("Champ inconnu.")
    for key in REQUIRED:
        if data.get(key) in (None, "", [], ()):
            errors.by_field.setdefault(key, []).append("Ce champ est obligatoire.")
    env: dict = {}
    warnings: list[str] = []
    if "birth_name" not in errors.by_field:
        env["birth_name"] = errors.run("birth_name", _ins_name, data["birth_name"],
                                       what="Le nom de naissance")
    if "first_names" not in errors.by_field:
        env["first_names"] = errors.run("first_names", _first_names, data["first_names"])
    env["used_name"] = ""
    if data.get("used_name"):
        env["used_name"] = errors.run("used_name", _ins_name, data["used_name"],
                                      what="Le nom d'usage") or ""
    env["used_first_name"] = ""
    if data.get("used_first_name"):
        env["used_first_name"] = errors.run("used_first_name", check_name,
                                            data["used_first_name"],
                                            what="Le prénom d'usage") or ""
    birth_date = None
    if "birth_date" not in errors.by_field:
        birth_date = errors.run("birth_date", validators.check_birth_date, data["birth_date"])
    env["birth_date"] = birth_date.isoformat() if birth_date else None
    if "sex" not in errors.by_field:
        env["sex"] = errors.run("sex", _sex, data["sex"])
    place = None
    if "birthplace_code" not in errors.by_field:
        code = data["birthplace_code"] if isinstance(data["birthplace_code"], str) else ""
        place = errors.run("birthplace_code", nirs.check_birthplace_code, code)
    if place:
        env["birthplace_code"], env["birthplace_label"] = place.code, place.label
        warnings += place.warnings
    _clean_ins(data, env, errors, warnings, birth_date, place)
    _clean_status(data, env, errors, current_status, user_ref)
    _clean_contact(data, env, errors)
    if env.get("email") and (typo := email_domain_warning(env["email"])):
        warnings.append(typo)
    if errors.by_field:
        raise ValidationError(errors.by_field)
    return Cleaned({key: env.get(key) for key in ENVELOPE_FIELDS}, warnings)


def _clean_ins(data, env, errors, warnings, birth_date: date | None, place) -> None:
    number = data.get("nir") or data.get("ins") or ""
    oid = data.get("ins_oid") or nirs.INS_OID_NIR
    env["ins"], env["ins_oid"] = "", ""
    if not number:
        return
    if not isinstance(number, str):
        errors.by_field.setdefault("nir", []).append("Le NIR doit être un texte.")
        return
    if birth_date is None or place is None or env.get("sex") is None:
        # Without valid traits only the number itself can be checked.
        info = errors.run("nir", nirs.parse_nir, number)
        if info:
            errors.by_field.setdefault("nir", []).append(
                "Le NIR n'a pas pu être comparé aux traits d'identité, à corriger d'abord."
            )
        return
    checked = errors.run("nir", nirs.check_ins, number, sex=env["sex"], birth_date=birth_date,
                         birthplace_code=place.code, oid=oid)
    if checked:
        env["ins"], env["ins_oid"] = checked.nir.number, checked.oid
        warnings += checked.warnings


def _clean_status(data, env, errors, current_status, user_ref) -> None:
    document = errors.run("id_document", _document, data.get("id_document"), user_ref)
    env["id_document"] = document
    target = data.get("identity_status") or current_status
    check = None
    if document:
        check = status.DocumentCheck(document["kind"], date.fromisoformat(document["checked_on"]),
                                     document["checked_by"])
    reached = errors.run("identity_status", status.next_status, current_status, target,
                         document=check)
    env["identity_status"] = str(reached or current_status)


def _clean_contact(data, env, errors) -> None:
    env["phones"] = errors.run("phone", _phones, data) or []
    env["email"] = ""
    if data.get("email"):
        value = data["email"] if isinstance(data["email"], str) else ""
        env["email"] = errors.run("email", validators.normalize_email, value) or ""
    for key, (length, message) in _DIGITS.items():
        value = data.get(key)
        text = "".join(str(value).split()) if value not in (None, "") else ""
        if text and (len(text) != length or not text.isdigit()):
            errors.by_field.setdefault(key, []).append(message)
        env[key] = text
    for key, what in _TEXTS.items():
        value = data.get(key)  # mostly absent: _text(None) is "", not worth the call
        env[key] = "" if value is None else errors.run(key, _text, value, what) or ""
    env["physician_rpps"] = ""
    if data.get("physician_rpps"):
        env["physician_rpps"] = errors.run("physician_rpps", validators.check_rpps,
                                           str(data["physician_rpps"])) or ""
    env["blood_group"] = ""
    if data.get("blood_group"):
        env["blood_group"] = errors.run("blood_group", normalize_blood_group,
                                        str(data["blood_group"])) or ""
    notes = data.get("notes")
    env["notes"] = "" if notes is None else errors.run("notes", _text, notes, "La note",
                                                       MAX_NOTES) or ""
    env["insured_nir"] = ""
    if data.get("insured_nir"):
        value = data["insured_nir"] if isinstance(data["insured_nir"], str) else ""
        insured = errors.run("insured_nir", nirs.parse_nir, value, label="NIR de l'assuré")
        env["insured_nir"] = insured.number if insured else ""


def as_input(envelope: dict) -> dict:
    """An envelope back in input form, to apply changes and check the whole again."""
    data = {key: value for key, value in envelope.items()
            if key in INPUT_FIELDS and value not in (None, "", [])}
    data.pop("identity_status", None)  # the record's status is passed as current_status
    if envelope.get("ins"):
        data["nir"] = envelope["ins"]
        data["ins_oid"] = envelope["ins_oid"]
    data.pop("ins", None)
    data.pop("phones", None)
    if envelope.get("phones"):
        # `phone` is the first number, `phones` the others: a change of `phone` replaces it.
        data["phone"], data["phones"] = envelope["phones"][0], list(envelope["phones"][1:])
    return data
