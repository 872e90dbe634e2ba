import pytest

from etanche.ops.labs import create_lab
from etanche.vault import keyring, master

# Synthetic FINESS numbers with a valid Luhn key (department 99 holds no establishment).
FINESS_A = "990000002"
FINESS_B = "990000010"


@pytest.fixture(autouse=True)
def _fresh_vault_caches():
    keyring.forget()
    master.forget()
    yield
    keyring.forget()
    master.forget()


@pytest.fixture
def lab(db):
    return create_lab("lab-a", "Laboratoire A", FINESS_A)


@pytest.fixture
def other_lab(db):
    return create_lab("lab-b", "Laboratoire B", FINESS_B)
