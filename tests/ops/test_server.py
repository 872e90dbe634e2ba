"""`etanche serve`'s gunicorn workers hold the master key from their start."""

import logging

import pytest

from etanche.ops.labs import create_lab
from etanche.ops.server import hold_master_key
from etanche.vault import keyring, master
from etanche.vault.errors import MasterKeyError


class _Worker:
    log = logging.getLogger("tests.gunicorn")


@pytest.fixture(autouse=True)
def _fresh_caches():
    master.forget()
    keyring.forget()
    yield
    master.forget()
    keyring.forget()


def test_a_worker_holds_the_key_before_its_first_request(db, tmp_path, settings):
    path = tmp_path / "keys" / "master.key"
    settings.ETANCHE_MASTER_KEY = f"file://{path}"
    create_lab("lab-s", "Laboratoire S", "990000002")  # provisioning creates the key file
    master.forget()  # a worker just forked: nothing held yet
    hold_master_key(_Worker())
    path.rename(path.with_name("master.key.away"))  # the file lost while the server runs
    assert master.kek()  # held: not read again


def test_a_worker_starting_without_its_key_warns_and_serves_on(db, tmp_path, settings, caplog):
    settings.ETANCHE_MASTER_KEY = f"file://{tmp_path / 'absent.key'}"
    with caplog.at_level(logging.WARNING, logger="tests.gunicorn"):
        hold_master_key(_Worker())
    assert "master key not available yet" in caplog.text
    with pytest.raises(MasterKeyError):  # still read at the next request, which gets the 503
        master.kek()
