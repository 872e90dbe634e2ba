"""The lab admin's user management views, each with the view checklist."""

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


def test_it_creates_an_invited_account_and_shows_the_password_once(admin, world):
    response = admin.post("/equipe/nouveau/", {
        "username": "hugo.garnier", "first_name": "Hugo", "last_name": "Garnier",
        "email": "hugo.garnier@example.invalid", "role": "frontdesk"})
    assert "usage unique" in response.content.decode()
    user = User.objects.get(username="hugo.garnier")
    assert user.must_change_password
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


# --- the checklist, for every view of the team --------------------------------

GET_VIEWS = ["/equipe/", "/equipe/nouveau/", "/equipe/{pk}/", "/equipe/usage-partage/"]
POST_VIEWS = ["/equipe/{pk}/role/", "/equipe/{pk}/desactivation/", "/equipe/{pk}/deverrouillage/"]


def _urls(world, views):
    pk = world.membership(world.frontdesk).pk
    return [v.format(pk=pk) for v in views]


def test_checklist_works(admin, world):
    for url in _urls(world, GET_VIEWS):
        assert admin.get(url).status_code == 200, url
    for url in _urls(world, POST_VIEWS):
        assert admin.post(url, {"role": "frontdesk"}).status_code == 302, url


def test_checklist_wrong_method_is_405(admin, world):
    for url in _urls(world, GET_VIEWS):
        assert admin.delete(url).status_code == 405, url
    for url in _urls(world, POST_VIEWS):
        assert admin.get(url).status_code == 405, url


def test_checklist_bad_id_is_404(admin, world):
    for view in ("/equipe/{pk}/",):
        assert admin.get(view.format(pk=987654)).status_code == 404
    for view in POST_VIEWS:
        assert admin.post(view.format(pk=987654)).status_code == 404


def test_checklist_other_lab_is_404_wrong_role_403_anonymous_to_login(world):
    outsider = sign_in(Client(), world.outsider_admin, sudo=True)
    frontdesk = sign_in(Client(), world.frontdesk, sudo=True)
    anonymous = Client()
    for url in _urls(world, ["/equipe/{pk}/"]):
        assert outsider.get(url).status_code == 404
    for url in _urls(world, POST_VIEWS):
        assert outsider.post(url).status_code == 404, url
    for url in _urls(world, GET_VIEWS):
        assert frontdesk.get(url).status_code == 403, url
        assert anonymous.get(url)["Location"].startswith("/login/?next=")
    for url in _urls(world, POST_VIEWS):
        assert frontdesk.post(url).status_code == 403, url
        assert anonymous.post(url)["Location"].startswith("/login/")
