"""The menu of each role, and the badge of what awaits the person (issue 24, item 6).

One table: a link shows when the member holds its permission; the view checks again.
(Team, alerts, watch and breach links are written in base.html by their pages' owners.)
A link whose URL is not (yet) routed is left out rather than breaking every page.
"""

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse

from etanche.accounts.permissions import Perm, has_permission
from etanche.exports.models import Export, Status


@dataclass(frozen=True)
class Item:
    label: str
    url_name: str
    perm: Perm
    badge: str = ""  # key of a count from awaiting()


MENU = (
    Item("Patients", "patient_search", Perm.PATIENT_SEARCH),
    Item("Catalogue", "catalogue", Perm.CATALOGUE_MANAGE),
    Item("Exports", "export_list", Perm.EXPORT_REQUEST, badge="exports"),
    Item("Droits RGPD", "subject_requests", Perm.SUBJECT_REQUEST),
    Item("Reprise de données", "import_list", Perm.IMPORT_RUN),
    Item("Messages HL7", "interop_outbox", Perm.INTEROP_MANAGE),
    Item("Journal", "journal", Perm.JOURNAL_READ),
)


def exports_awaiting(membership) -> int:
    """Exports of the lab waiting for a decision this person may give (not their own)."""
    if not has_permission(membership, Perm.EXPORT_APPROVE):
        return 0
    return (Export.objects.for_lab(membership.lab).filter(status=Status.REQUESTED)
            .exclude(requested_by_id=membership.user_id)
            .exclude(first_approved_by_id=membership.user_id).count())


def items_for(membership) -> list[dict]:
    if membership is None:
        return []
    counts = {"exports": exports_awaiting(membership)}
    out = []
    for item in MENU:
        if not has_permission(membership, item.perm):
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue
        out.append({"label": item.label, "url": url, "badge": counts.get(item.badge, 0)})
    return out
