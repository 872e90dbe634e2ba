"""The authentication backend: Django's ModelBackend, with the request's membership
loaded in the same query as its user.

Every authenticated request needs both (the middleware sets request.membership from
services.primary_membership); loading the user from its first active membership, lab
joined, turns two queries into one. A user with no active membership (an outsider, a
deactivated account) is loaded as ModelBackend does, and refused as it does.
"""

from django.contrib.auth.backends import ModelBackend

from etanche.accounts.models import Membership

# The membership fetched with the user, for services.primary_membership (None: none active).
PRIMARY = "_etanche_primary_membership"


class MembershipBackend(ModelBackend):
    def get_user(self, user_id):
        # The first by lab slug (Membership's ordering: lab, then user, the same user
        # here), picked in Python from the few rows: compiling that ORDER BY across
        # the joins cost every request 0.17 ms, a third of the query's compilation.
        membership = min(Membership.objects.active().filter(user_id=user_id)
                         .select_related("user", "lab").order_by(),
                         key=lambda m: m.lab.slug, default=None)
        if membership is None:
            user = super().get_user(user_id)
            if user is not None:
                setattr(user, PRIMARY, None)
            return user
        user = membership.user
        if not self.user_can_authenticate(user):
            return None
        setattr(user, PRIMARY, membership)
        return user
