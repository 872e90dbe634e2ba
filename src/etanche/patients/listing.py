"""Records a list of patients must leave out: a hook for the apps above patients.

    listing.register(fn)   # fn(lab, ids, *, criteria, phonetic) -> set of ids to leave out
    listing.visible(lab, items, criteria=[...], phonetic=False, id_of=...)

Patients cannot import the apps above it (layers), yet one of them decides which
records a list may show: watch's lab canaries are listed only for exact criteria no
real workflow meets (docs/watch.md). Watch registers its filter when Django starts
(watch/apps.py); search and the duplicate check pass their results through here
before they are journaled, so a record left out is neither shown nor journaled as
shown. Without a registered filter, lists are unchanged.
"""

_filters = []


def register(fn):
    if fn not in _filters:
        _filters.append(fn)
    return fn


def visible(lab, items: list, *, criteria: list[str], phonetic: bool = False,
            id_of=lambda item: item[0]) -> list:
    """`items` without those a registered filter leaves out (order kept)."""
    if not items or not _filters:
        return items
    ids = [id_of(item) for item in items]
    hidden = set()
    for fn in _filters:
        hidden |= fn(lab, ids, criteria=list(criteria), phonetic=phonetic)
    return [item for item in items if id_of(item) not in hidden] if hidden else items
