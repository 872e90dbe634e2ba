"""`etanche serve`'s gunicorn workers hold the master key from their start, and inherit
what the master loaded outside the garbage collector's full collections."""

import gc
import logging
import os

import pytest

from etanche.ops import server
from etanche.ops.labs import create_lab
from etanche.ops.server import freeze_before_fork, hold_master_key
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


def test_a_forked_worker_inherits_the_masters_objects_frozen():
    loaded = [[i] for i in range(1000)]  # what the master holds when it forks
    read, write = os.pipe()
    try:
        freeze_before_fork(None, None)
        pid = os.fork()
        if pid == 0:  # the worker: report how many objects its collections will skip
            os.write(write, str(gc.get_freeze_count()).encode())
            os._exit(0)
        os.close(write)
        frozen = int(os.read(read, 32))
        os.waitpid(pid, 0)
    finally:
        gc.unfreeze()
        os.close(read)
    assert frozen >= len(loaded)


def test_serve_freezes_before_each_fork(monkeypatch):
    seen = {}

    class _Recorder:
        def __init__(self, options):
            seen.update(options)

        def run(self):
            pass

    monkeypatch.setattr(server, "_Gunicorn", _Recorder)
    server.run_gunicorn(host="127.0.0.1", port=8000, workers=1, threads=1, with_worker=False)
    assert seen["pre_fork"] is freeze_before_fork
