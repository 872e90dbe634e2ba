"""Deny by default (DESIGN §7): no URL answers an anonymous user, bar an explicit list.

The list below is the whole public surface. Adding to it needs a reason in
review; a new view that forgets authentication fails this test.
"""

import pytest
from django.contrib.auth.decorators import login_not_required  # noqa: F401  (grep anchor)

from tests.urlwalk import all_urls

PUBLIC_URL_NAMES = {"login", "healthz"}


def test_it_walks_a_non_trivial_url_set():
    names = {name for name, _, _ in all_urls()}
    assert {"home", "login", "healthz"} <= names


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
def test_it_sends_anonymous_users_to_login_everywhere(client, method):
    checked = 0
    for name, path, _ in all_urls():
        if name in PUBLIC_URL_NAMES:
            continue
        response = getattr(client, method)(path)
        status = response.status_code
        assert status == 302, f"{method.upper()} {path} answered {status}"
        assert response["Location"].startswith("/login/"), f"{path} -> {response['Location']}"
        checked += 1
    assert checked >= 1


def test_it_exempts_only_the_listed_views():
    exempt = {
        name
        for name, _, callback in all_urls()
        if getattr(callback, "login_required", True) is False
    }
    assert exempt == PUBLIC_URL_NAMES


@pytest.mark.django_db
def test_it_serves_static_files_without_login(client):
    response = client.get("/static/etanche/etanche.css")
    assert response.status_code == 200
