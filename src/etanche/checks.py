"""System checks that refuse dangerous configurations at start-up.

`etanche serve` runs them with deploy tags; each has a test in tests/test_checks.py.
"""

import stat

from django.conf import settings
from django.core import checks
from django.utils.module_loading import import_string

DENY_BY_DEFAULT = "django.contrib.auth.middleware.LoginRequiredMiddleware"
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def _denies_by_default(path: str) -> bool:
    if path == DENY_BY_DEFAULT:
        return True
    try:
        return issubclass(import_string(path), import_string(DENY_BY_DEFAULT))
    except ImportError:
        return False


@checks.register(checks.Tags.security)
def check_deny_by_default(app_configs, **kwargs):
    # A subclass (accounts' AccessMiddleware, which also requires the TOTP step) counts.
    if not any(_denies_by_default(path) for path in settings.MIDDLEWARE):
        return [
            checks.Error(
                "LoginRequiredMiddleware is missing: views would answer anonymous users.",
                hint=f"Keep {DENY_BY_DEFAULT} (or a subclass) in MIDDLEWARE.",
                id="etanche.E001",
            )
        ]
    return []


@checks.register(checks.Tags.security)
def check_no_admin_site(app_configs, **kwargs):
    # The Django admin would be a second, unjournaled way into sealed records.
    if "django.contrib.admin" in settings.INSTALLED_APPS:
        return [
            checks.Error(
                "django.contrib.admin is installed: it bypasses the journal and roles.",
                id="etanche.E002",
            )
        ]
    return []


@checks.register(checks.Tags.security)
def check_debug_exposure(app_configs, **kwargs):
    if settings.DEBUG and not set(settings.ALLOWED_HOSTS) <= LOOPBACK:
        return [
            checks.Error(
                "ETANCHE_DEBUG=1 with non-loopback ETANCHE_ALLOWED_HOSTS: debug pages "
                "would show data to the network.",
                hint="Turn ETANCHE_DEBUG off, or restrict ALLOWED_HOSTS to 127.0.0.1.",
                id="etanche.E003",
            )
        ]
    return []


@checks.register(checks.Tags.security)
def check_secret_key_strength(app_configs, **kwargs):
    if not settings.DEBUG and len(settings.SECRET_KEY) < 50:
        return [
            checks.Error(
                "The secret key is shorter than 50 characters.",
                hint="Remove it and run `etanche init`, or set a longer ETANCHE_SECRET_KEY.",
                id="etanche.E004",
            )
        ]
    return []


@checks.register(checks.Tags.security)
def check_data_dir_private(app_configs, **kwargs):
    data_dir = settings.DATA_DIR
    try:
        mode = data_dir.stat().st_mode
    except FileNotFoundError:
        return []
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        return [
            checks.Error(
                f"The data directory {data_dir} is accessible to group or others.",
                hint=f"chmod 700 {data_dir}",
                id="etanche.E005",
            )
        ]
    return []


@checks.register(checks.Tags.security)
def check_cookies_secure(app_configs, **kwargs):
    if not settings.DEBUG and not settings.SESSION_COOKIE_SECURE:
        return [
            checks.Warning(
                "Session cookies are not marked Secure: they can travel over plain HTTP.",
                hint="Serve over TLS and unset ETANCHE_SECURE_COOKIES.",
                id="etanche.W001",
            )
        ]
    return []
