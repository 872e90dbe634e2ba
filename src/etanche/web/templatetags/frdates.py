"""`iso_fr`: an ISO date string from a sealed record, shown the French way (JJ/MM/AAAA)."""

from datetime import date

from django import template

register = template.Library()


@register.filter
def iso_fr(value):
    try:
        return date.fromisoformat(str(value)).strftime("%d/%m/%Y")
    except ValueError:
        return value
