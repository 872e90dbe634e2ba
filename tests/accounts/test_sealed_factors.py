"""TOTP seeds are sealed and recovery codes hashed: the database alone gives neither (ADR 0005)."""

import base64
from binascii import hexlify
from io import StringIO
from urllib.parse import parse_qs, urlsplit

import pytest
from django.apps import apps
from django.core.management import call_command
from django.test import Client
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from hypothesis import given
from hypothesis import strategies as st

from etanche.accounts import services
from etanche.accounts.models import RecoveryCodeDevice, SealedTOTPDevice, User
from etanche.vault import instance
from tests.activation import activate
from tests.leakscan import find_leaks, raw_database_bytes
from tests.personas import code_from_uri, make_lab, make_user, totp_now

PASSWORD = "Une-Tasse-de-the-vert-7"
_migration = __import__(
    "etanche.accounts.migrations.0004_move_second_factor_secrets", fromlist=["forward"])


def _secret(uri: str) -> str:
    return parse_qs(urlsplit(uri).query)["secret"][0]


@pytest.mark.django_db(transaction=True)
def test_it_keeps_no_seed_or_recovery_code_in_the_raw_database():
    make_lab("lab-leak")
    out = StringIO()
    call_command("users", "create", "lucie.moreau", "--lab", "lab-leak", "--role", "frontdesk",
                 "--name", "Lucie Moreau", "--email", "l@example.invalid", stdout=out)
    _client, _page, uri = activate(out.getvalue().strip().splitlines()[-1], PASSWORD)
    user = User.objects.get(username="lucie.moreau")
    seed = services.confirmed_totp(user).bin_key
    codes = services.regenerate_recovery_codes(user)
    needles = [_secret(uri), hexlify(seed).decode(), *codes]

    blob = raw_database_bytes()
    assert find_leaks(blob, needles) == []
    assert seed not in blob
    assert not TOTPDevice.objects.exists() and not StaticToken.objects.exists()
    assert code_from_uri(uri) == totp_now(services.confirmed_totp(user))

    # The same scan sees a seed that django-otp would have stored in clear.
    control = TOTPDevice.objects.create(user=user, name="control", confirmed=False)
    assert find_leaks(raw_database_bytes(), [control.key]) == ["needle #0 found (40 bytes)"]
    control.delete()


def test_it_logs_in_with_the_sealed_seed_and_a_hashed_recovery_code(db):
    lab = make_lab("lab-login")
    user = make_user("lucie.moreau", lab, password=PASSWORD)
    client = Client()
    client.post("/login/", {"username": user.username, "password": PASSWORD})
    response = client.post("/connexion/code/", {"code": totp_now(services.confirmed_totp(user))})
    assert response["Location"] == "/"
    codes = services.regenerate_recovery_codes(user)
    client = Client()
    client.post("/login/", {"username": user.username, "password": PASSWORD})
    assert client.post("/connexion/code/", {"code": codes[3]})["Location"] == "/"
    assert services.recovery_codes_left(user) == 9


def test_it_refuses_a_seed_copied_onto_another_account(db):
    lab = make_lab("lab-copy")
    mine, victim = make_user("paul.durand", lab), make_user("lucie.moreau", lab)
    SealedTOTPDevice.objects.filter(user=victim).update(
        sealed_key=SealedTOTPDevice.objects.get(user=mine).sealed_key)
    with pytest.raises(instance.InstanceSealError, match=f"user {victim.pk}"):
        services.confirmed_totp(victim).verify_token("123456")


def test_it_opens_old_seeds_and_codes_after_a_secret_rotation_with_fallbacks(db, settings):
    lab = make_lab("lab-rotate")
    user = make_user("lucie.moreau", lab)
    seed = services.confirmed_totp(user).bin_key
    codes = services.regenerate_recovery_codes(user)
    old_secret = settings.SECRET_KEY
    settings.SECRET_KEY = "rotated-" + "r" * 60
    with pytest.raises(instance.InstanceSealError):
        services.confirmed_totp(user).bin_key  # noqa: B018
    settings.SECRET_KEY_FALLBACKS = [old_secret]
    assert services.confirmed_totp(user).bin_key == seed
    assert RecoveryCodeDevice.objects.get(user=user).verify_token(codes[0])


@given(seed=st.binary(min_size=10, max_size=64), user_id=st.integers(1, 2**62),
       position=st.integers(0, 1000))
def test_it_seals_any_seed_and_opens_it_only_untouched_for_its_user(seed, user_id, position):
    token = instance.seal_totp_seed(seed, user_id=user_id)
    assert seed not in token
    assert instance.unseal_totp_seed(token, user_id=user_id) == seed
    with pytest.raises(instance.InstanceSealError):
        instance.unseal_totp_seed(token, user_id=user_id + 1)
    tampered = bytearray(token)
    tampered[position % len(token)] ^= 0x01
    with pytest.raises(instance.InstanceSealError):
        instance.unseal_totp_seed(bytes(tampered), user_id=user_id)


@given(code=st.text(alphabet="abcdefghijklmnopqrstuvwxyz234567", min_size=8, max_size=8))
def test_it_hashes_recovery_codes_with_a_key_bound_to_the_user(code):
    digest = instance.recovery_code_digests(code, user_id=7)[0]
    assert code not in digest and len(digest) == 64
    assert digest != instance.recovery_code_digests(code, user_id=8)[0]


def test_it_migrates_clear_devices_into_sealed_ones_and_back(db):
    lab = make_lab("lab-migrate")
    user = make_user("lucie.moreau", lab, totp=False)
    clear = TOTPDevice.objects.create(user=user, name="TOTP", confirmed=True, last_t=42)
    static = StaticDevice.objects.create(user=user, name="Codes", confirmed=True)
    StaticToken.objects.bulk_create([StaticToken(device=static, token=t)
                                     for t in ("abcd2345", "efgh6723")])
    seed, uri = clear.bin_key, clear.config_url

    _migration.forward(apps, None)
    assert not TOTPDevice.objects.exists() and not StaticToken.objects.exists()
    sealed = services.confirmed_totp(user)
    assert sealed.bin_key == seed and sealed.last_t == 42
    assert sealed.config_url == uri
    assert code_from_uri(uri) == totp_now(sealed)
    assert services.recovery_codes_left(user) == 2
    assert RecoveryCodeDevice.objects.get(user=user).verify_token("efgh6723")

    _migration.backward(apps, None)
    assert TOTPDevice.objects.get(user=user).bin_key == seed
    assert services.confirmed_totp(user) is None
    assert base64.b32encode(seed).decode() in uri
