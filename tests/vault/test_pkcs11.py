"""The PKCS#11 provider against SoftHSM2 (Debian's softhsm2), on a token made for the run."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import tink

from etanche.vault import keyring, master
from etanche.vault import services as vault
from etanche.vault.errors import MasterKeyMissing, ProviderUnavailable
from etanche.vault.models import LabKeyset, MasterKeyRecord
from etanche.vault.providers import provider_from_uri
from etanche.vault.rotation import rotate_master
from tests.cli_helpers import run_etanche
from tests.conftest import require_system
from tests.vault.helpers import sqlite_cli_env

from .test_sealing import SYNTHETIC

MODULE = "/usr/lib/softhsm/libsofthsm2.so"
PIN = "246813"

pytestmark = pytest.mark.hsm


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory):
    require_system(
        Path(MODULE).exists() and shutil.which("softhsm2-util") is not None,
        "SoftHSM2 is not installed (apt-get install softhsm2)",
    )
    base = tmp_path_factory.mktemp("softhsm")
    (base / "tokens").mkdir()
    conf = base / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {base / 'tokens'}\nobjectstore.backend = file\n")
    # SoftHSM reads its configuration once, when the library is first initialised.
    os.environ["SOFTHSM2_CONF"] = str(conf)
    subprocess.run(
        [shutil.which("softhsm2-util"), "--init-token", "--free", "--label", "etanche-test",
         "--pin", PIN, "--so-pin", "97531"],
        check=True, capture_output=True,
    )
    return "etanche-test"


def _uri(token, obj, pin=PIN):
    return f"pkcs11:token={token};object={obj}?module-path={MODULE}&pin-value={pin}"


def test_it_wraps_and_unwraps_inside_the_token(softhsm):
    provider = provider_from_uri(_uri(softhsm, "roundtrip"))
    if not provider.exists():
        provider.create()
    aead = provider.aead()
    sealed = aead.encrypt(b"keyset bytes", b"lab 1")
    assert aead.decrypt(sealed, b"lab 1") == b"keyset bytes"
    with pytest.raises(tink.TinkError):
        aead.decrypt(sealed, b"lab 2")
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(tink.TinkError):
        aead.decrypt(tampered, b"lab 1")
    assert "pin" not in provider.describe().lower()


def test_it_keeps_the_key_sensitive_and_non_extractable(softhsm):
    import pkcs11
    from pkcs11 import Attribute

    provider = provider_from_uri(_uri(softhsm, "sensitive"))
    provider.create()
    key = provider._key()
    assert key[Attribute.SENSITIVE] and not key[Attribute.EXTRACTABLE]
    with pytest.raises(pkcs11.PKCS11Error):
        key[Attribute.VALUE]  # noqa: B018  (reading it must be refused by the token)


def test_it_runs_the_vault_on_an_hsm_master_key(softhsm, lab, settings):
    settings.ETANCHE_MASTER_KEY = _uri(softhsm, "vault-master")
    LabKeyset.objects.all().delete()
    MasterKeyRecord.objects.all().delete()
    master.forget()
    keyring.forget()
    assert vault.provision_lab(lab)
    assert LabKeyset.objects.filter(lab=lab, kek_id=f"pkcs11:{softhsm}/vault-master").count() == 2
    token = vault.seal(lab, "sealedapp.person", 1, SYNTHETIC)
    keyring.forget()
    master.forget()
    assert vault.unseal(lab, "sealedapp.person", 1, token) == SYNTHETIC


def test_it_rotates_the_master_key_from_a_file_into_the_hsm(softhsm, lab, settings, monkeypatch):
    token = vault.seal(lab, "sealedapp.person", 1, SYNTHETIC)
    target = _uri(softhsm, "rotated-in")
    assert "ETANCHE_MASTER_KEY" in rotate_master(new_uri=target)
    settings.ETANCHE_MASTER_KEY = target
    master.forget()
    keyring.forget()
    assert vault.unseal(lab, "sealedapp.person", 1, token) == SYNTHETIC


def test_it_names_a_missing_key_or_token_in_one_line(softhsm):
    with pytest.raises(MasterKeyMissing):
        provider_from_uri(_uri(softhsm, "never-created")).aead()
    with pytest.raises(ProviderUnavailable, match="not found"):
        provider_from_uri(_uri("no-such-token", "x")).aead()


def test_it_fails_init_in_one_line_with_a_wrong_pin(softhsm, tmp_path):
    # A fresh process: PKCS#11 logins are per process, and this one is logged in.
    env = sqlite_cli_env(tmp_path / "var", ETANCHE_MASTER_KEY=_uri(softhsm, "cli", pin="000000"),
                    SOFTHSM2_CONF=os.environ["SOFTHSM2_CONF"])
    result = run_etanche("init", env=env)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "check the PIN" in result.stderr and "000000" not in result.stderr


def test_it_has_init_create_the_hsm_key_once(softhsm, tmp_path):
    env = sqlite_cli_env(tmp_path / "var", ETANCHE_MASTER_KEY=_uri(softhsm, "cli-init"),
                    SOFTHSM2_CONF=os.environ["SOFTHSM2_CONF"])
    first = run_etanche("init", env=env)
    assert first.returncode == 0, first.stderr
    assert "pkcs11:token=etanche-test;object=cli-init (created)" in first.stdout
    second = run_etanche("init", env=env)
    assert "(kept)" in second.stdout
    made = run_etanche("labs", "create", "hsm-lab", "--name", "HSM", "--finess", "990000002",
                       env=env)
    assert made.returncode == 0, made.stderr
