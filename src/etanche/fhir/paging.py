"""Search Bundles and their `next` links, with opaque cursors.

A next link is `<base>/<Type>?_cursor=<cursor>`: the cursor is the search's state
(its criteria, offset and page size) sealed by the vault for the token that
searched (vault.instance.seal_cursor), so a link carries no identity trait in
clear, cannot be altered, and is useless to another token. Cursors expire after
CURSOR_SECONDS.
"""

import time

from etanche.fhir.outcome import FhirError
from etanche.vault import instance

DEFAULT_COUNT = 20
MAX_COUNT = 100
CURSOR_SECONDS = 3600


def count_of(params, *, limit: int = MAX_COUNT) -> int:
    raw = params.get("_count")
    if raw in (None, ""):
        return min(DEFAULT_COUNT, limit)
    if not str(raw).isdigit() or not 1 <= int(raw) <= 10**6:
        raise FhirError(400, "_count doit être un entier positif.", expression="_count")
    return min(int(raw), limit)


def seal(bearer, state: dict) -> str:
    return instance.seal_cursor({**state, "exp": int(time.time()) + CURSOR_SECONDS},
                                bound_to=str(bearer.token.pk))


def open_(bearer, text: str, resource_type: str) -> dict:
    state = instance.open_cursor(text, bound_to=str(bearer.token.pk))
    if not state or state.get("type") != resource_type:
        raise FhirError(400, "Curseur de pagination invalide (il ne sert qu'au jeton qui a "
                             "cherché, pour la même ressource).", expression="_cursor")
    if state.get("exp", 0) < time.time():
        raise FhirError(400, "Curseur de pagination expiré : relancez la recherche.",
                        expression="_cursor")
    return state


def bundle(request, resource_type: str, matches: list[dict], *, total: int | None,
           next_state: dict | None, bearer, included=(), outcome: dict | None = None) -> dict:
    base = request.build_absolute_uri(f"/fhir/{resource_type}")
    links = [{"relation": "self", "url": base}]
    if next_state is not None:
        cursor = seal(bearer, {**next_state, "type": resource_type})
        links.append({"relation": "next", "url": f"{base}?_cursor={cursor}"})
    entries = [{"fullUrl": request.build_absolute_uri(f"/fhir/{r['resourceType']}/{r['id']}"),
                "resource": r, "search": {"mode": "match"}} for r in matches]
    entries += [{"fullUrl": request.build_absolute_uri(f"/fhir/{r['resourceType']}/{r['id']}"),
                 "resource": r, "search": {"mode": "include"}} for r in included]
    if outcome:
        entries.append({"resource": outcome, "search": {"mode": "outcome"}})
    out = {"resourceType": "Bundle", "type": "searchset", "link": links, "entry": entries}
    if total is not None:
        out["total"] = total
    if not entries:
        del out["entry"]
    return out
