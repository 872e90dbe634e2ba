import pytest
from django.test import Client

from tests.personas import sign_in


@pytest.fixture
def as_user():
    def _client(user):
        return sign_in(Client(), user)
    return _client
