"""Journal entries for account events, through the journal app's one entry point.

`action` is the name of a `etanche.journal.models.Action` member, e.g. "LOGIN".
"""

from django.db import transaction

from etanche.journal.models import Action
from etanche.journal.services import record


def journal(action: str, *, lab=None, user=None, object_type="", object_id="", outcome="ok",
            detail=None):
    record(lab=lab, user=user, action=Action[action], object_type=object_type,
           object_id=str(object_id) if object_id != "" else "", outcome=outcome, detail=detail)


def journal_failure(action: str, outcome: str = "failed", **kwargs):
    """Record a failure in its own transaction so that it outlives the failed work.

    Called outside any atomic block it commits at once; inside one (a test, a
    caller's transaction) it still lands in a savepoint of its own, but callers
    on the login path never wrap it: see views.login_view.
    """
    with transaction.atomic():
        journal(action, outcome=outcome, **kwargs)
