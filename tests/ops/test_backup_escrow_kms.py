"""Escrow with a KMS master key (issue 22, item 1): the key stays in the KMS, the shares
carry the wrapped keysets, which put a database's lost keys back under the same KMS key."""

import pytest
import tink
from pyrage import x25519
from tink import _kms_clients

from etanche.labs.models import Lab
from etanche.ops import escrow as ops_escrow
from etanche.vault import escrow, keyring, master
from etanche.vault import services as vault
from etanche.vault.models import LabKeyset, MasterKeyRecord
from tests.vault.test_kms import FAKE_URI, FakeKms

pytestmark = pytest.mark.django_db
PERSON = {"birth_name": "Kerjean", "first_names": ["Anaïg"]}  # synthetic


@pytest.fixture
def on_kms(settings):
    tink.register_kms_client(FakeKms())
    settings.ETANCHE_MASTER_KEY = FAKE_URI
    master.forget()
    keyring.forget()
    yield
    _kms_clients.reset_kms_clients()
    master.forget()
    keyring.forget()


def test_shares_of_a_kms_installation_put_lost_keysets_back(on_kms):
    lab = Lab.objects.create(slug="kms-lab", name="Laboratoire KMS", finess="990000018")
    vault.provision_lab(lab)
    token = vault.seal(lab, "sealedapp.person", 7, PERSON)
    custodians = [x25519.Identity.generate() for _ in range(3)]
    summary, files = escrow.split([str(c.to_public()) for c in custodians], 2)
    assert summary["kind"] == escrow.WRAPPED_KEYSETS

    LabKeyset.objects.filter(lab=lab).delete()  # the keysets lost with a database
    keyring.forget()
    shares = [escrow.read_share(files[0], [custodians[0]])]
    with pytest.raises(escrow.EscrowError, match="needs 2 of 3"):
        escrow.combine(shares)
    shares.append(escrow.read_share(files[2], [custodians[2]]))
    first, payload = escrow.combine(shares)
    assert escrow.reinstate_keysets(payload) == 2
    keyring.forget()
    assert vault.unseal(lab, "sealedapp.person", 7, token) == PERSON
    assert MasterKeyRecord.objects.filter(current=True).count() == 1


def test_the_file_key_is_never_written_for_kms_shares(on_kms, tmp_path, settings):
    lab = Lab.objects.create(slug="kms-lab2", name="Laboratoire KMS 2", finess="990000026")
    vault.provision_lab(lab)
    custodians = [x25519.Identity.generate() for _ in range(2)]
    _, files = escrow.split([str(c.to_public()) for c in custodians], 2)
    # With the database present, recovery re-inserts nothing and journals the recovery.
    done, where = ops_escrow.recover_key(files, custodians)
    assert done.startswith("0 wrapped keyset(s)") and where == "journaled"
