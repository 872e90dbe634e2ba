"""Opening an activation link as the person would (issue 16, item 3): a test helper."""

import re
from urllib.parse import parse_qs, quote, urlsplit

from django.test import Client

from tests.personas import code_from_uri

SECRET = re.compile(r'class="secret">([A-Z2-7 ]+)<')


def uri_of(html: str) -> str:
    """The otpauth URI of the key the enrolment page shows as text."""
    secret = SECRET.search(html).group(1).replace(" ", "")
    return f"otpauth://totp/{quote('Étanche')}?secret={secret}"


def activate(link: str, password: str, client: Client | None = None) -> tuple[Client, str, str]:
    """Open `link`, choose `password`, enrol the app; (client, last page, the app's URI)."""
    client = client or Client()
    parts = urlsplit(link)
    query = parse_qs(parts.query)
    page = client.get(parts.path, query)
    assert page.status_code == 200, page.content.decode()[:300]
    html = page.content.decode()
    uri = uri_of(html)
    response = client.post(parts.path, {
        "jeton": query["jeton"][0], "new_password1": password, "new_password2": password,
        "code": code_from_uri(uri)})
    return client, response.content.decode(), uri
