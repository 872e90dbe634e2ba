"""Fetch lab objects for the current user: 404 for another lab, 403 for too little authority.

Every view fetches the records it shows through these helpers, never with a
bare `Model.objects.get(pk=...)`: the lab filter is what keeps tenants apart.
They are the only code turning the domain's "not found" into Http404; the
services below them take a lab, a user and ids, and know nothing of HTTP.
Another lab's object is indistinguishable from a missing one (404); an
object of one's own lab without the permission is a 403.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404

from etanche.accounts.models import Membership
from etanche.accounts.permissions import Perm, has_permission
from etanche.exports.models import Export
from etanche.orders import services as orders
from etanche.orders.models import CatalogueTest, Order
from etanche.patients import services as patients
from etanche.patients.models import Patient


def current_lab(request):
    membership = getattr(request, "membership", None)
    if membership is None:
        raise PermissionDenied
    return membership.lab


def _membership(request) -> Membership:
    membership = getattr(request, "membership", None)
    if membership is None:
        raise Http404
    return membership


def get_object_for_user(request, source: type[Model] | QuerySet, perm: Perm, **lookup):
    """The object of the request's lab matching `lookup` (for models without a service
    of their own to fetch them: memberships, exports, catalogue tests)."""
    membership = _membership(request)
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


def get_export_for_user(request, pk: int, perm: Perm) -> Export:
    return get_object_for_user(request, Export.objects.select_related(
        "lab", "requested_by", "decided_by"), perm, pk=pk)


def get_catalogue_test_for_user(request, pk: int,
                                perm: Perm = Perm.CATALOGUE_MANAGE) -> CatalogueTest:
    return get_object_for_user(request, CatalogueTest, perm, pk=pk)


def get_order_for_user(request, pk, perm: Perm = Perm.ORDER_READ) -> Order:
    membership = _membership(request)
    try:
        order = orders.get_order(membership.lab, pk)
    except orders.OrderNotFound:
        raise Http404 from None
    if not has_permission(membership, perm):
        raise PermissionDenied
    return order


def find_order_for_user(request, text: str, perm: Perm = Perm.ORDER_READ) -> Order | None:
    """The request of the lab whose number (2026-000123, dash optional) or one of whose
    tube barcodes (202600012301) is `text`; None when none is."""
    membership = _membership(request)
    if not has_permission(membership, perm):
        raise PermissionDenied
    digits = "".join(text.split()).replace("-", "")
    rows = Order.objects.filter(lab_id=membership.lab_id)
    if digits.isdigit() and len(digits) == 10:
        return rows.filter(number=f"{digits[:4]}-{digits[4:]}").first()
    if digits.isdigit() and len(digits) == 12:
        return rows.filter(specimens__barcode=digits, specimens__lab_id=membership.lab_id).first()
    return None


def _patient_membership(request, pk, perm) -> Membership:
    """The request's membership when it holds `perm`; without it, 403 only when the patient
    exists in the lab (a missing id stays a 404)."""
    membership = _membership(request)
    if not has_permission(membership, perm):
        raise PermissionDenied if patients.patient_exists(membership.lab, pk) else Http404
    return membership


def get_patient_for_user(request, pk, perm: Perm, *, purpose: str = "") -> patients.PatientRecord:
    """The record (journaled READ; `record.id` differs from `pk` after a merge)."""
    membership = _patient_membership(request, pk, perm)
    # Allowed: the fetch itself tells a missing record (one query less per page).
    try:
        return patients.get_patient(membership.lab, request.user, pk, purpose)
    except patients.PatientNotFound:
        raise Http404 from None


def resolve_patient_for_user(request, pk, perm: Perm) -> tuple[Patient, int | None]:
    """The row, merge redirects followed, nothing unsealed or journaled (see
    patients.resolve_patient); same 404/403 rules as `get_patient_for_user`."""
    membership = _patient_membership(request, pk, perm)
    try:
        return patients.resolve_patient(membership.lab, pk)
    except patients.PatientNotFound:
        raise Http404 from None


def check_patient_for_user(request, pk, perm: Perm) -> int:
    """The id of a record of the request's lab, merged or not, without opening it (the
    access history is about the record, not an access to it)."""
    membership = _patient_membership(request, pk, perm)
    if not patients.patient_exists(membership.lab, pk):
        raise Http404
    return int(pk)
