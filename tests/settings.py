"""Settings for the test suite: an isolated data directory and secret per run.

Environment first, then the production settings unchanged, so the suite tests
what runs in production. The suite never touches ./var.
"""

import os
import tempfile

os.environ["ETANCHE_DATA_DIR"] = tempfile.mkdtemp(prefix="etanche-test-")
os.environ.setdefault("ETANCHE_SECRET_KEY", "test-only-" + "k" * 60)
os.environ.pop("ETANCHE_DEBUG", None)

from etanche.settings import *  # noqa: E402, F403

# A test-only app whose models subclass the vault's SealedModel.
INSTALLED_APPS = [*INSTALLED_APPS, "tests.sealedapp"]  # noqa: F405
