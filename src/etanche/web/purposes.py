"""The purpose a journal entry gives for a person's reading, from their role.

A DPO opening a record was journaled as "accueil" (issue 24, item 8): the
purpose is what the role reads for, not the page's first use.
"""

from etanche.accounts.models import Role

BY_ROLE = {
    Role.FRONTDESK: "accueil",
    Role.BIOLOGIST: "biologie médicale",
    Role.LABADMIN: "administration du laboratoire",
    Role.DPO: "contrôle de conformité (DPO)",
    Role.AUDITOR: "audit",
}


OVERSIGHT = {Role.LABADMIN, Role.DPO, Role.AUDITOR}


def purpose_for(request, default: str | None = None) -> str:
    """Oversight roles read for their role whatever the page; care roles for what the
    page does (`default`, e.g. "consultation d'une demande"), else for their role."""
    role = getattr(getattr(request, "membership", None), "role", None)
    if role in OVERSIGHT or default is None:
        return BY_ROLE.get(role, default or "accueil")
    return default
