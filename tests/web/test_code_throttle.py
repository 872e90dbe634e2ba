"""Issue 24, item 7: a correct code right after a typo was refused as "incorrect ou déjà
utilisé" (django-otp's throttle refuses every code for a few seconds): say how long to wait."""

from django.test import Client

from etanche.accounts.models import Role, SealedTOTPDevice
from tests.personas import make_user, totp_now

PASSWORD = "Cheval-agrafe-batterie-7!"  # noqa: S105


def test_a_code_typed_during_the_throttle_is_told_to_wait(world):
    user = make_user("odile.garnier", world.lab_a, Role.FRONTDESK, password=PASSWORD)
    client = Client()
    client.post("/login/", {"username": user.username, "password": PASSWORD})
    device = SealedTOTPDevice.objects.get(user=user)
    wrong = f"{(int(totp_now(device)) + 1) % 10**6:06d}"
    first = client.post("/connexion/code/", {"code": wrong}).content.decode()
    assert "Code incorrect ou déjà utilisé." in first
    page = client.post("/connexion/code/", {"code": totp_now(device)}).content.decode()
    assert "Trop d&#x27;essais : réessayez dans " in page and " seconde" in page
    assert "Code incorrect" not in page
    # Once the wait is over, the right code passes.
    SealedTOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_timestamp=None)
    device.refresh_from_db()
    assert client.post("/connexion/code/", {"code": totp_now(device)})["Location"] == "/"
