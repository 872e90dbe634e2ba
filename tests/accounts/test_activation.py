"""Issue 16, item 3 (a): whoever creates or resets an account never holds its credentials.

The attack: a lab admin creates a biologist account (or resets an existing
one), reads the one-time password off the page or the CLI, logs in as it,
enrols a second factor and approves their own export. Now creation and resets
give the person a single-use, expiring activation link (by mail on the web,
on the CLI's last line for the operator to hand over); the person chooses the
password and enrols the factor there.
"""

import re
from datetime import timedelta
from io import StringIO
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import authenticate
from django.core import mail
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from etanche.accounts import services
from etanche.accounts.models import SealedTOTPDevice, User
from tests.activation import activate
from tests.personas import sign_in, totp_now

NEW_PASSWORD = "Sept-grenouilles-vertes-au-lavoir"  # noqa: S105
CREATE = {"username": "hugo.garnier", "first_name": "Hugo", "last_name": "Garnier",
          "email": "hugo.garnier@example.invalid", "role": "biologist"}


@pytest.fixture
def admin(world):
    return sign_in(Client(), world.labadmin, sudo=True)


def _words(text: str) -> set[str]:
    """What in a response could be a password: anything shown as code, and every long word
    of letters and digits mixing cases and digits (the shape of a generated one)."""
    shown = {m.strip() for m in re.findall(r"<code[^>]*>([^<]+)</code>", text)}
    shaped = {w for w in re.findall(r"[A-Za-z0-9]{12,}", text)
              if re.search(r"[a-z]", w) and re.search(r"[A-Z]", w) and re.search(r"\d", w)}
    return {w for w in shown | shaped if w}


def _no_usable_credentials(user, *outputs, new_factor=True) -> None:
    user.refresh_from_db()
    assert not user.has_usable_password()
    if new_factor:  # a password reset leaves the person's own app in place
        assert not SealedTOTPDevice.objects.filter(user=user, confirmed=True).exists()
    for output in outputs:
        for word in _words(output):
            assert authenticate(username=user.username, password=word) is None
        assert "otpauth://" not in output and "secret=" not in output


def _link_in_mail(user) -> str:
    sent = [m for m in mail.outbox if user.email in m.to]
    assert len(sent) == 1, [m.subject for m in mail.outbox]
    return re.search(r"https?://\S+/activation/\?jeton=\S+", sent[0].body).group(0)


def _activate(link: str, password: str = NEW_PASSWORD) -> tuple[Client, str]:
    """Open the link as the person, choose a password, enrol the app: the recovery codes page."""
    client, page, _uri = activate(link, password)
    return client, page


def _login(user, password: str = NEW_PASSWORD) -> str:
    client = Client()
    response = client.post("/login/", {"username": user.username, "password": password})
    assert response["Location"] == "/connexion/code/"
    device = services.confirmed_totp(user)
    # The next step's code: the one just typed at enrolment is spent.
    return client.post("/connexion/code/", {"code": totp_now(device, 1)})["Location"]


def test_the_admin_who_creates_an_account_learns_no_credentials(admin, world):
    response = admin.post("/equipe/nouveau/", CREATE)
    page = response.content.decode()
    user = User.objects.get(username="hugo.garnier")
    assert "envoyé" in page and user.email in page
    _no_usable_credentials(user, page)
    link = _link_in_mail(user)
    assert link.split("jeton=")[1] not in page
    # Nothing the admin can open afterwards shows a credential either.
    member = admin.get(f"/equipe/{world.membership(user).pk}/").content.decode()
    _no_usable_credentials(user, member)


def test_the_person_activates_with_the_link_once(admin, world):
    admin.post("/equipe/nouveau/", CREATE)
    user = User.objects.get(username="hugo.garnier")
    link = _link_in_mail(user)
    parts = urlsplit(link)
    enrolment = Client().get(parts.path, parse_qs(parts.query)).content.decode()
    # The QR code, and the same key as text beside it.
    assert "<svg" in enrolment and re.search(r'class="secret">[A-Z2-7 ]{20,}<', enrolment)
    _client, page = _activate(link)
    assert "codes de secours" in page.lower()
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD) and not user.must_change_password
    assert _login(user) == "/"
    # Spent: the same link again says so in French and changes nothing.
    again = Client().get(parts.path, parse_qs(parts.query))
    assert again.status_code == 400 and "déjà été utilisé" in again.content.decode()
    replay = Client().post(parts.path, {"jeton": parse_qs(parts.query)["jeton"][0],
                                        "new_password1": "Autre-chose-de-long-99",
                                        "new_password2": "Autre-chose-de-long-99",
                                        "code": "000000"})
    assert replay.status_code == 400
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_an_expired_or_unknown_link_is_refused_in_french(world):
    created = services.create_user(lab=world.lab_a, role="biologist", **{
        k: v for k, v in CREATE.items() if k != "role"})
    created.activation.__class__.objects.filter(pk=created.activation.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1))
    expired = Client().get("/activation/", {"jeton": created.token})
    assert expired.status_code == 400 and "expiré" in expired.content.decode()
    unknown = Client().get("/activation/", {"jeton": "x" * 43})
    assert unknown.status_code == 400 and "pas valable" in unknown.content.decode()
    assert Client().get("/activation/").status_code == 400


def test_a_bad_code_or_a_weak_password_spends_nothing(admin, world):
    admin.post("/equipe/nouveau/", CREATE)
    user = User.objects.get(username="hugo.garnier")
    link = _link_in_mail(user)
    token = parse_qs(urlsplit(link).query)["jeton"][0]
    client = Client()
    client.get("/activation/", {"jeton": token})
    weak = client.post("/activation/", {"jeton": token, "new_password1": "motdepasse",
                                        "new_password2": "motdepasse", "code": "123456"})
    assert weak.status_code == 200
    user.refresh_from_db()
    assert not user.has_usable_password()
    _client, page = _activate(link)
    assert "codes de secours" in page.lower()


def test_a_web_password_reset_gives_the_admin_nothing(admin, world):
    user = world.biologist
    victim = sign_in(Client(), user)
    response = admin.post(f"/equipe/{world.membership(user).pk}/mot-de-passe/")
    page = response.content.decode()
    assert response.status_code == 200 and "envoyé" in page
    _no_usable_credentials(user, page, new_factor=False)
    assert victim.get("/compte/")["Location"].startswith("/login/")
    _activate(_link_in_mail(user))
    assert _login(user) == "/"


def test_a_web_second_factor_reset_sends_a_link_to_the_person(admin, world):
    user = world.biologist
    response = admin.post(f"/equipe/{world.membership(user).pk}/double-facteur/", follow=True)
    page = response.content.decode()
    assert "envoyé" in page
    assert services.confirmed_totp(user) is None
    _activate(_link_in_mail(user))
    assert _login(user) == "/"


# --- the CLI ----------------------------------------------------------------------------

def _call(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


CLI_CREATE = ["users", "create", "hugo.garnier", "--lab", "lab-a", "--role", "biologist",
              "--name", "Hugo Garnier", "--email", "hugo.garnier@example.invalid"]


def test_the_cli_prints_an_activation_link_on_its_last_line_and_no_credentials(world):
    out = _call(*CLI_CREATE)
    user = User.objects.get(username="hugo.garnier")
    _no_usable_credentials(user, out)
    assert "password" not in out.lower()
    link = out.strip().splitlines()[-1]
    assert re.fullmatch(r"https?://\S+/activation/\?jeton=[\w-]{40,}", link)
    _activate(link)
    assert _login(user) == "/"


def test_the_cli_link_lasts_72_hours_by_default_or_what_valid_says(world):
    _call(*CLI_CREATE)
    activation = User.objects.get(username="hugo.garnier").activations.get()
    assert abs((activation.expires_at - timezone.now()) - timedelta(hours=72)) < timedelta(
        minutes=1)
    out = _call("users", "reset-password", "hugo.garnier", "--valid", "3d")
    activation = User.objects.get(username="hugo.garnier").activations.get(used_at=None)
    assert abs((activation.expires_at - timezone.now()) - timedelta(days=3)) < timedelta(
        minutes=1)
    assert "jeton=" in out.strip().splitlines()[-1]
    with pytest.raises(CommandError, match="Durée") as caught:
        _call("users", "reset-password", "hugo.garnier", "--valid", "forever")
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("action", ["reset-password", "reset-mfa"])
def test_cli_resets_print_a_link_and_no_credentials(world, action):
    user = world.biologist
    out = _call("users", action, user.username)
    assert "password:" not in out and "otpauth" not in out
    link = out.strip().splitlines()[-1]
    assert "/activation/?jeton=" in link
    _activate(link)
    assert _login(user) == "/"


def test_a_new_link_replaces_the_previous_one(world):
    first = _call("users", "reset-password", world.biologist.username).strip().splitlines()[-1]
    _call("users", "reset-password", world.biologist.username)
    parts = urlsplit(first)
    assert Client().get(parts.path, parse_qs(parts.query)).status_code == 400
