"""The prescribers a user recently chose, remembered in their session, sealed.

Sessions live in the database (django_session): a prescriber's name in clear
there would break the rule that nothing identifying is stored in clear, so the
memo is sealed with the lab's key and bound to the user's id. The memo only
feeds the choices offered on the next request form (orders/prescribers.py):
it is never filled into the form by itself (issue 24, item 1).
"""

import base64

from etanche.vault import services as vault
from etanche.vault.errors import VaultError

SESSION_KEY = "orders.prescriber"
RECORD_TYPE = "orders.prescriber-memo"
KEPT = 5


def remember(session, lab, user, name: str, rpps: str) -> None:
    """Put (name, rpps) first among the user's recent prescribers, at most KEPT of them."""
    kept = [p for p in recent(session, lab, user)
            if (p.get("name"), p.get("rpps")) != (name, rpps)]
    token = vault.seal(lab, RECORD_TYPE, user.pk,
                       {"recent": [{"name": name, "rpps": rpps}, *kept][:KEPT]})
    session[SESSION_KEY] = base64.b64encode(token).decode("ascii")


def recent(session, lab, user) -> list[dict]:
    """The user's recent prescribers, newest first: [{"name", "rpps"}]."""
    value = session.get(SESSION_KEY)
    if not value:
        return []
    try:
        opened = vault.unseal(lab, RECORD_TYPE, user.pk, base64.b64decode(value))
    except (VaultError, ValueError):
        # Another lab's memo or an old key: forget it rather than fail the page.
        session.pop(SESSION_KEY, None)
        return []
    if "recent" in opened:
        return list(opened["recent"])
    # A memo of the previous form (one prescriber) still in a live session.
    return [opened] if opened.get("name") else []


def recall(session, lab, user) -> dict:
    """The most recent prescriber, or {}."""
    found = recent(session, lab, user)
    return found[0] if found else {}
