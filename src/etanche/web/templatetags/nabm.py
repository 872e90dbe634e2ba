"""The official NABM label of a test, verbatim, shown beside its French display label."""

from django import template

from etanche.orders import catalogue, wording

register = template.Library()


@register.filter
def nabm_official(code: str) -> str:
    return catalogue.official_label(code) or ""


@register.simple_tag
def nabm_source() -> str:
    return wording.OFFICIAL_SOURCE
