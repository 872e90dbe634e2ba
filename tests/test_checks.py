"""The system checks that refuse dangerous configurations."""

import os

from etanche import checks


def _ids(results):
    return {r.id for r in results}


def test_it_requires_the_deny_by_default_middleware(settings):
    assert checks.check_deny_by_default(None) == []
    access = "etanche.web.middleware.AccessMiddleware"
    assert access in settings.MIDDLEWARE  # the subclass that also requires TOTP
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != access]
    assert _ids(checks.check_deny_by_default(None)) == {"etanche.E001"}
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, checks.DENY_BY_DEFAULT]
    assert checks.check_deny_by_default(None) == []
    # Something that merely looks like it does not count.
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != checks.DENY_BY_DEFAULT]
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "etanche.web.headers.SecurityHeadersMiddleware"]
    assert _ids(checks.check_deny_by_default(None)) == {"etanche.E001"}


def test_it_refuses_the_django_admin(settings):
    assert checks.check_no_admin_site(None) == []
    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, "django.contrib.admin"]
    assert _ids(checks.check_no_admin_site(None)) == {"etanche.E002"}


def test_it_refuses_debug_on_a_public_host(settings):
    settings.DEBUG = True
    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    assert checks.check_debug_exposure(None) == []
    settings.ALLOWED_HOSTS = ["lab.example"]
    assert _ids(checks.check_debug_exposure(None)) == {"etanche.E003"}


def test_it_refuses_a_short_secret_key(settings):
    assert checks.check_secret_key_strength(None) == []
    settings.SECRET_KEY = "short"
    assert _ids(checks.check_secret_key_strength(None)) == {"etanche.E004"}


def test_it_refuses_a_data_dir_open_to_others(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    os.chmod(tmp_path, 0o700)
    assert checks.check_data_dir_private(None) == []
    os.chmod(tmp_path, 0o755)
    assert _ids(checks.check_data_dir_private(None)) == {"etanche.E005"}


def test_it_warns_about_cookies_without_secure(settings):
    assert checks.check_cookies_secure(None) == []
    settings.SESSION_COOKIE_SECURE = False
    assert _ids(checks.check_cookies_secure(None)) == {"etanche.W001"}
