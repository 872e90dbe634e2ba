"""Bench-only settings: the product's, plus the plaintext baseline app and its URLs.

Selected only by the bench (bench/env.py sets DJANGO_SETTINGS_MODULE); the
product never installs `bench.plain`.
"""

from etanche.settings import *  # noqa: F403
from etanche.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "bench.plain"]
ROOT_URLCONF = "bench.urls"
