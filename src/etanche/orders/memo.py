"""The last prescriber a user typed, remembered in their session, sealed.

Sessions live in the database (django_session): a prescriber's name in clear
there would break the rule that nothing identifying is stored in clear, so the
memo is sealed with the lab's key and bound to the user's id.
"""

import base64

from etanche.vault import services as vault
from etanche.vault.errors import VaultError

SESSION_KEY = "orders.prescriber"
RECORD_TYPE = "orders.prescriber-memo"


def remember(session, lab, user, name: str, rpps: str) -> None:
    token = vault.seal(lab, RECORD_TYPE, user.pk, {"name": name, "rpps": rpps})
    session[SESSION_KEY] = base64.b64encode(token).decode("ascii")


def recall(session, lab, user) -> dict:
    value = session.get(SESSION_KEY)
    if not value:
        return {}
    try:
        return vault.unseal(lab, RECORD_TYPE, user.pk, base64.b64decode(value))
    except (VaultError, ValueError):
        # Another lab's memo or an old key: forget it rather than fail the page.
        session.pop(SESSION_KEY, None)
        return {}
