"""Where the analytical LIS says a request stands, beside its status (interop/progress.py)."""

from django import template
from django.utils.html import format_html

from etanche.interop import progress

register = template.Library()


@register.simple_tag
def lis_status(order):
    """A badge "Plateau : ..." once the LIS has spoken about the request; nothing before."""
    status = progress.status_of(order.lab_id, [order.pk]).get(order.pk)
    if status is None:
        return ""
    return format_html(' <span class="status lis-status lis-{}">Plateau : {}</span>',
                       status.value, status.label)
