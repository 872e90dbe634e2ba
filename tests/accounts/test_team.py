"""The lab admin's user management views (their checklist is tests/web/test_views.py)."""

import pytest
from django.test import Client

from etanche.accounts.models import Membership, Role, User
from tests.personas import journal_actions, sign_in


@pytest.fixture
def admin(world):
    return sign_in(Client(), world.labadmin, sudo=True)


def test_it_lists_the_lab_members_only(admin, world):
    page = admin.get("/equipe/").content.decode()
    assert "julien.martin" in page and "sophie.bernard" in page
    assert "paul.durand" not in page


def test_it_creates_an_account_and_mails_its_activation_link(admin, world):
    response = admin.post("/equipe/nouveau/", {
        "username": "hugo.garnier", "first_name": "Hugo", "last_name": "Garnier",
        "email": "hugo.garnier@example.invalid", "role": "frontdesk"})
    assert "Un lien d'activation a été envoyé" in response.content.decode().replace(
        "&#x27;", "'")
    user = User.objects.get(username="hugo.garnier")
    assert not user.has_usable_password()
    assert Membership.objects.get(user=user).lab == world.lab_a
    assert "user-create" in journal_actions(world.lab_a)


@pytest.mark.parametrize("username", ["accueil", "labo2", "Secrétariat", "admin", "test.user"])
def test_it_refuses_generic_usernames_on_the_form(admin, username):
    response = admin.post("/equipe/nouveau/", {
        "username": username, "first_name": "Hugo", "last_name": "Garnier",
        "email": "h@example.invalid", "role": "frontdesk"})
    assert response.status_code == 200
    assert "Identifiant refusé" in response.content.decode()
    assert not User.objects.filter(username=username).exists()


def test_it_refuses_a_nameless_account(admin):
    response = admin.post("/equipe/nouveau/", {
        "username": "hugo.garnier", "first_name": "", "last_name": "", "email": "",
        "role": "frontdesk"})
    assert response.status_code == 200
    assert not User.objects.filter(username="hugo.garnier").exists()


def test_it_changes_a_role(admin, world):
    member = world.membership(world.frontdesk)
    admin.post(f"/equipe/{member.pk}/role/", {"role": "biologist"})
    member.refresh_from_db()
    assert member.role == Role.BIOLOGIST
    assert "user-update" in journal_actions(world.lab_a)


def test_it_disables_a_member_and_ends_their_sessions(admin, world):
    victim = sign_in(Client(), world.frontdesk)
    member = world.membership(world.frontdesk)
    admin.post(f"/equipe/{member.pk}/desactivation/")
    world.frontdesk.refresh_from_db()
    assert not world.frontdesk.is_active
    assert victim.get("/compte/")["Location"].startswith("/login/")
    assert "user-disable" in journal_actions(world.lab_a)


def test_it_refuses_to_remove_the_last_lab_admin_or_oneself(admin, world):
    own = world.membership(world.labadmin)
    response = admin.post(f"/equipe/{own.pk}/desactivation/", follow=True)
    assert "propre compte" in response.content.decode()
    other_admin = User.objects.create(username="marc.leroy", first_name="Marc",
                                      last_name="Leroy", email="m@example.invalid")
    Membership.objects.create(user=other_admin, lab=world.lab_a, role=Role.LABADMIN)
    world.labadmin.memberships.update(is_active=False)  # only marc.leroy remains admin
    from etanche.accounts import services

    with pytest.raises(Exception, match="dernier administrateur"):
        services.change_role(Membership.objects.get(user=other_admin), Role.DPO,
                             actor=world.frontdesk)
