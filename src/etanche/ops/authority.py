"""The one permission check of a CLI command acting as a named member of a lab.

A command that acts as a person (`--by USER`, `--requested-by USER`) declares
the permissions it checks in `Command.permissions`, and checks each action
here, once, before calling the service; the services trust that check, as
they trust the web's `require_permission`. tests/accounts/test_permissions.py
reads the declarations to prove every permission of the table is used.
"""

from django.core.management.base import CommandError

from etanche.accounts.models import Membership
from etanche.accounts.permissions import Perm, has_permission
from etanche.accounts.services import membership_in


def acting_member(command, user, lab, perm: Perm) -> Membership:
    """`user`'s membership in `lab` if it grants `perm`; a one-line CommandError if not."""
    if perm not in getattr(command, "permissions", ()):
        # A programming error, not a refusal: the declaration is what the tests read.
        raise RuntimeError(f"{type(command).__module__} checks {perm} without declaring it "
                           "in Command.permissions")
    membership = membership_in(user, lab)
    if not has_permission(membership, perm):
        slug = getattr(lab, "slug", lab)
        raise CommandError(f"{user.username} lacks the {perm} permission in lab {slug}")
    return membership
