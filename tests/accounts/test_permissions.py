"""The role table: every role declared, least privilege where the design asks for it."""

from etanche.accounts.models import Membership, Role
from etanche.accounts.permissions import ROLE_PERMISSIONS, Perm, has_permission, role_has


def test_every_role_has_a_declared_set():
    assert set(ROLE_PERMISSIONS) == set(Role.values)


def test_only_the_lab_admin_manages_users():
    assert [r for r in Role.values if role_has(r, Perm.USER_MANAGE)] == [Role.LABADMIN]


def test_the_lab_admin_and_auditor_read_no_patient():
    for role in (Role.LABADMIN, Role.AUDITOR):
        assert not role_has(role, Perm.PATIENT_READ)


def test_the_dpo_reads_patients_and_their_access_history_but_writes_nothing():
    assert role_has(Role.DPO, Perm.PATIENT_READ)
    assert role_has(Role.DPO, Perm.ACCESS_HISTORY_READ)
    assert not role_has(Role.DPO, Perm.PATIENT_WRITE)
    assert not role_has(Role.DPO, Perm.ORDER_WRITE)


def test_shared_use_is_shown_to_the_lab_admin_and_the_dpo():
    assert {r for r in Role.values if role_has(r, Perm.SHARED_USE_READ)} == {
        Role.LABADMIN, Role.DPO}


def test_no_membership_or_an_inactive_one_grants_nothing():
    assert not has_permission(None, Perm.PATIENT_READ)
    inactive = Membership(role=Role.BIOLOGIST, is_active=False)
    assert not has_permission(inactive, Perm.PATIENT_READ)
    assert has_permission(Membership(role=Role.BIOLOGIST, is_active=True), Perm.PATIENT_READ)
