"""Tink KMS integration, against an in-process fake KMS client (no cloud is reachable)."""

import pytest
import tink
from tink import aead

from etanche.vault import keyring, master
from etanche.vault import services as vault
from etanche.vault.errors import ProviderUnavailable
from etanche.vault.models import LabKeyset, MasterKeyRecord
from etanche.vault.providers import provider_from_uri

from .test_sealing import SYNTHETIC

FAKE_URI = "fake-kms://etanche-test/key-1"


class FakeKms(tink.KmsClient):
    """Holds one Tink AES-GCM key per URI in memory, as a KMS holds keys server-side."""

    def __init__(self):
        self.keys = {}
        self.calls = 0

    def does_support(self, key_uri: str) -> bool:
        return key_uri.startswith("fake-kms://")

    def get_aead(self, key_uri: str):
        if key_uri not in self.keys:
            self.keys[key_uri] = tink.new_keyset_handle(
                aead.aead_key_templates.AES256_GCM
            ).primitive(aead.Aead)
        self.calls += 1
        return self.keys[key_uri]


@pytest.fixture(scope="module")
def fake_kms():
    client = FakeKms()
    tink.register_kms_client(client)
    yield client
    from tink import _kms_clients

    _kms_clients.reset_kms_clients()


def test_it_wraps_lab_keys_with_a_registered_kms_client(fake_kms, lab, settings):
    settings.ETANCHE_MASTER_KEY = FAKE_URI
    LabKeyset.objects.all().delete()
    MasterKeyRecord.objects.all().delete()
    master.forget()
    keyring.forget()
    vault.provision_lab(lab)
    assert LabKeyset.objects.filter(lab=lab, kek_id__startswith="kms:").count() == 2
    token = vault.seal(lab, "sealedapp.person", 1, SYNTHETIC)
    keyring.forget()
    master.forget()
    assert vault.unseal(lab, "sealedapp.person", 1, token) == SYNTHETIC
    assert fake_kms.calls >= 2


def test_it_reports_a_different_kms_key_as_the_wrong_master_key(fake_kms, lab, settings):
    settings.ETANCHE_MASTER_KEY = FAKE_URI
    LabKeyset.objects.all().delete()
    MasterKeyRecord.objects.all().delete()
    master.forget()
    keyring.forget()
    vault.provision_lab(lab)
    settings.ETANCHE_MASTER_KEY = "fake-kms://etanche-test/key-2"
    master.forget()
    keyring.forget()
    with pytest.raises(vault.MasterKeyWrong):
        vault.seal(lab, "sealedapp.person", 1, SYNTHETIC)


@pytest.mark.parametrize(
    ("uri", "hint"),
    [
        ("aws-kms://arn:aws:kms:eu-west-3:000000000000:key/x", "tink[awskms]"),
        ("gcp-kms://projects/p/locations/l/keyRings/r/cryptoKeys/k", "tink[gcpkms]"),
        ("hcvault://vault.invalid/transit/keys/k", "tink[hcvault]"),
        ("ftp://nowhere/key", "no Tink KMS client"),
    ],
)
def test_it_says_which_extra_a_cloud_kms_needs(uri, hint):
    # Étanche installs none of the cloud extras, so each must say what to install.
    with pytest.raises(ProviderUnavailable) as error:
        provider_from_uri(uri).aead()
    assert hint in str(error.value)
