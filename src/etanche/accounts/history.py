"""Who made whom: account events between two people, read from the journal (issue 16).

The four-eyes rule (exports.services.check_four_eyes) asks whether an approver
is independent of the requester. The journal already records, in the same
transaction as each change, who created, reset, unlocked or changed the role
of which account, under its MAC chain: reading it there needs no second copy
that could drift from it or be deleted without notice.
"""

from datetime import timedelta

from django.utils import timezone

from etanche.accounts.models import Membership
from etanche.journal.models import Action
from etanche.journal.queries import acted_on_each_other

USER_OBJECT = "accounts.User"
# Creation, a password or second-factor reset, an unlock, a role given (USER_UPDATE).
LINKING_ACTIONS = (Action.USER_CREATE, Action.PASSWORD_CHANGE, Action.MFA_RESET,
                   Action.UNLOCK, Action.USER_UPDATE)


def linked_recently(first, second, *, days: int) -> bool:
    """Whether either user created, reset, unlocked or gave a role to the other's account
    in the last `days` days (the CLI operator, journaled with no user, links no one)."""
    labs = set(Membership.objects.filter(user__in=[first, second])
               .values_list("lab_id", flat=True))
    since = timezone.now() - timedelta(days=days)
    return acted_on_each_other(first.pk, second.pk, lab_ids=labs, actions=LINKING_ACTIONS,
                               object_type=USER_OBJECT, since=since)


def younger_than(user, *, days: int) -> bool:
    return user.date_joined > timezone.now() - timedelta(days=days)
