"""The same account used from two places at once is flagged and shown to the admin and DPO."""

from django.test import Client

from etanche.accounts.models import SealedTOTPDevice, SessionRecord, SharedUseFlag
from etanche.accounts.session_store import stored_key
from etanche.web import sessions
from tests.personas import journal_actions, sign_in, totp_now


def _login_from(user, address, agent):
    """What the login view does after the TOTP step, from a given workstation."""
    client = sign_in(Client(), user, address=address, agent=agent)
    record = SessionRecord.objects.get(session_key=stored_key(client.session.session_key))
    sessions.detect_shared_use(record)
    return client


def test_it_flags_two_live_sessions_from_different_places(world):
    _login_from(world.frontdesk, "10.0.0.10", "Firefox")
    _login_from(world.frontdesk, "10.0.0.77", "Chrome")
    flag = SharedUseFlag.objects.get(user=world.frontdesk)
    assert {flag.first_address, flag.second_address} == {"10.0.0.10", "10.0.0.77"}
    assert not flag.same_user_agent
    assert "shared-use" in journal_actions(world.lab_a)

    admin_page = sign_in(Client(), world.labadmin).get("/equipe/").content.decode()
    dpo_page = sign_in(Client(), world.dpo).get("/equipe/usage-partage/").content.decode()
    for page in (admin_page, dpo_page):
        assert "julien.martin" in page and "10.0.0.77" in page
    assert sign_in(Client(), world.biologist).get("/equipe/usage-partage/").status_code == 403
    assert sign_in(Client(), world.outsider_admin).get(
        "/equipe/usage-partage/").content.decode().count("julien.martin") == 0


def test_it_does_not_flag_one_workstation_or_a_finished_session(world):
    _login_from(world.biologist, "10.0.0.10", "Firefox")
    _login_from(world.biologist, "10.0.0.10", "Firefox")
    first = _login_from(world.dpo, "10.0.0.10", "Firefox")
    first.post("/logout/")
    _login_from(world.dpo, "10.0.0.11", "Firefox")
    assert not SharedUseFlag.objects.exists()


def test_it_flags_once_per_pair_of_sessions(world):
    a = _login_from(world.auditor, "10.0.0.1", "Firefox")
    _login_from(world.auditor, "10.0.0.2", "Firefox")
    record = SessionRecord.objects.get(session_key=stored_key(a.session.session_key))
    sessions.detect_shared_use(record)
    assert SharedUseFlag.objects.count() == 1


def test_the_real_login_page_detects_it(world):
    user = world.frontdesk
    user.set_password("Quatre-saisons-2025")
    user.save()
    device = SealedTOTPDevice.objects.get(user=user)
    for step, address in enumerate(("10.2.0.1", "10.2.0.2")):
        # The drift the first code left, when it was checked in the step after its own (a
        # slow login on a busy machine): the next code is the authenticator's as the server
        # now counts steps.
        device.refresh_from_db()
        client = Client(REMOTE_ADDR=address)
        client.post("/login/", {"username": user.username, "password": "Quatre-saisons-2025"})
        response = client.post("/connexion/code/", {"code": totp_now(device, step)})
        assert response["Location"] == "/"
    assert SharedUseFlag.objects.filter(user=user).count() == 1
