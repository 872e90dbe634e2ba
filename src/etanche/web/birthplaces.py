"""Birthplace picker: communes (INSEE COG, with former delegated and associated communes)
and countries found by name, so nobody types an INSEE code from memory (issue 24, 11).

Reference data only, no personal data: the answer is JSON [{code, label}], read by
static/etanche/birthplace.js, which puts the chosen code into the form's code field.
"""

import functools

from django.http import JsonResponse
from django.views.decorators.http import require_GET

from etanche.accounts.permissions import Perm
from etanche.orders.wording import fold
from etanche.patients import refdata
from etanche.web.decorators import require_permission

LIMIT = 15


@functools.cache
def _index() -> list[tuple[str, str, str, int]]:
    """(folded name, code, label, weight) of every place; populous communes first."""
    places = [(fold(c.name), c.code, f"{c.name} ({c.department})", c.population)
              for c in refdata.communes().values()]
    current = refdata.communes()
    for code, (name, parent) in refdata.former_communes().items():
        if code != parent or code not in current:
            places.append((fold(name), code, f"{name} (ancienne commune, {code[:2]})", 0))
    for country in refdata.countries().values():
        if country.code != "99100":
            suffix = "" if country.status == "current" else " (ancien nom ou territoire)"
            places.append((fold(country.name), country.code,
                           f"{country.name}, né(e) à l'étranger{suffix}", 10**9))
    return sorted(places, key=lambda p: -p[3])


def find(text: str, limit: int = LIMIT) -> list[dict]:
    wanted = fold(text)
    if len(wanted) < 2:
        return []
    starts = [p for p in _index() if p[0].startswith(wanted)]
    inside = [p for p in _index() if wanted in p[0] and not p[0].startswith(wanted)]
    return [{"code": code, "label": label} for _, code, label, _ in (starts + inside)[:limit]]


@require_GET
@require_permission(Perm.PATIENT_WRITE)
def birthplace_search(request):
    return JsonResponse({"results": find((request.GET.get("q") or "")[:60])})
