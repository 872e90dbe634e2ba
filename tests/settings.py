"""Settings for the test suite: an isolated data directory and secret per run.

Environment first, then the production settings unchanged, so the suite tests
what runs in production. The suite never touches ./var.
"""

import os
import tempfile

os.environ["ETANCHE_DATA_DIR"] = tempfile.mkdtemp(prefix="etanche-test-")
os.environ.setdefault("ETANCHE_SECRET_KEY", "test-only-" + "k" * 60)
os.environ.pop("ETANCHE_DEBUG", None)
# Tests roll back labs whose ids get reused: the vault re-checks its key cache on every call.
os.environ.setdefault("ETANCHE_VAULT_RECHECK_SECONDS", "0")
# No honeypot patients at lab creation (they would change every count); tests/watch seeds.
os.environ["ETANCHE_CANARIES_PER_10K"] = "0"
# The walks and the fuzzer send thousands of API requests a minute with one token;
# tests/fhir/test_tokens.py sets the limits it tests.
os.environ.setdefault("ETANCHE_API_REQUESTS_PER_MINUTE", "1000000")
os.environ.setdefault("ETANCHE_API_REQUESTS_PER_HOUR", "1000000")

from etanche.settings import *  # noqa: E402, F403

# A test-only app whose models subclass the vault's SealedModel.
INSTALLED_APPS = [*INSTALLED_APPS, "tests.sealedapp"]  # noqa: F405

# A file, not SQLite's in-memory test database: the leak scanner (tests/leakscan.py)
# reads the raw file and its WAL, and CLI subprocesses share it with the test.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": os.path.join(DATA_DIR, "test.sqlite3")}  # noqa: F405
