"""Where the last self-audit (`etanche audit`, ops/audit.py) is kept, for its page.

A JSON file in the data directory, 0600: findings name a place (a file and an
offset, a variable, a process id), a kind and what to do, never the value found.
"""

import json
from pathlib import Path

from django.conf import settings


def path() -> Path:
    return Path(settings.DATA_DIR) / "audit" / "last.json"


def load() -> dict | None:
    try:
        return json.loads(path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
