import pytest

from etanche.interop import sender
from etanche.interop import services as interop
from tests.interop.peer import Peer, free_port


@pytest.fixture(autouse=True)
def fast_interop(settings):
    """No waiting between attempts, short timeouts; no link kept from another test."""
    settings.ETANCHE_INTEROP_BACKOFF_SECONDS = 0
    settings.ETANCHE_INTEROP_TIMEOUT_SECONDS = 2
    settings.ETANCHE_INTEROP_MAX_ATTEMPTS = 3
    sender.close_links()
    yield
    sender.close_links()


@pytest.fixture
def peer():
    return Peer()


@pytest.fixture
def port():
    return free_port()


@pytest.fixture
def destination(world, port):
    return interop.add_destination("lis-a", lab=world.lab_a, host="127.0.0.1", port=port,
                                   facility="PLATEAU")
