from base64 import b32encode
from urllib.parse import urlsplit

import segno
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from etanche.web.middleware import next_step

NEXT_KEY = "accounts.next"


def safe_next(request, candidate: str | None) -> str | None:
    """A local path to go back to, without its query: a query string may carry a
    patient's identifiers, and `next` ends up in the session and in URLs (issue 16)."""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return urlsplit(candidate).path or None
    return None


def continue_login(request):
    """Go to the next pending login step, or where the user was going."""

    step = next_step(request.user)
    if step:
        return redirect(step)
    return redirect(request.session.pop(NEXT_KEY, None) or reverse("home"))


def qr_svg(uri: str) -> str:
    # Inline SVG: an image the CSP allows (no script, no style attribute).
    return segno.make(uri, error="m").svg_inline(scale=4, dark="#000", light="#fff")


def grouped_secret(device) -> str:

    secret = b32encode(device.bin_key).decode()
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
