"""How a value of a patient envelope reads on a page (lists, the document check)."""

from django import template

register = template.Library()

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
