"""How a value of a patient envelope reads on a page (lists, the document check)."""

import phonenumbers
from django import template

from etanche.patients.validators import OVERSEAS_REGIONS

register = template.Library()
FRENCH_REGIONS = {"FR", *OVERSEAS_REGIONS}

DOCUMENTS = {"cni": "carte d'identité", "passeport": "passeport", "titre_sejour": "titre de séjour"}


@register.filter
def shown(value) -> str:
    if value in (None, "", [], {}):
        return "—"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        kind = DOCUMENTS.get(value.get("kind"), value.get("kind") or "")
        return f"{kind} contrôlé(e) le {value.get('checked_on') or '?'}"
    return str(value)


@register.filter
def phone_fr(value) -> str:
    """A phone stored in E.164, as people read it: "06 12 34 56 78" for a French number
    (mainland or overseas), the international form for another country (issue 24, 10)."""
    if not value:
        return ""
    try:
        number = phonenumbers.parse(str(value), None)
    except phonenumbers.NumberParseException:
        return str(value)
    if phonenumbers.region_code_for_number(number) in FRENCH_REGIONS:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


@register.filter
def phones_fr(values) -> str:
    return ", ".join(phone_fr(v) for v in values or []) or "—"
