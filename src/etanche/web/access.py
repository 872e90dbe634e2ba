"""Fetch lab objects for the current user: 404 for another lab, 403 for too little authority.

Every app fetches the records it shows through these helpers, never with a
bare `Model.objects.get(pk=...)`: the lab filter is what keeps tenants apart.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404

from etanche.accounts.models import Membership
from etanche.accounts.permissions import Perm, has_permission


def current_lab(request):
    membership = getattr(request, "membership", None)
    if membership is None:
        raise PermissionDenied
    return membership.lab


def get_object_for_user(request, source: type[Model] | QuerySet, perm: Perm, **lookup):
    """The object of the request's lab matching `lookup`.

    Another lab's object is indistinguishable from a missing one (404);
    an object of one's own lab without the permission is a 403.
    """
    membership = getattr(request, "membership", None)
    if membership is None:
        raise Http404
    queryset = source if isinstance(source, QuerySet) else source._default_manager.all()
    obj = queryset.filter(lab_id=membership.lab_id, **lookup).first()
    if obj is None:
        raise Http404
    if not has_permission(membership, perm):
        raise PermissionDenied
    return obj


def get_membership_for_user(request, pk: int, perm: Perm = Perm.USER_MANAGE) -> Membership:
    return get_object_for_user(request, Membership.objects.select_related("user", "lab"), perm,
                               pk=pk)
