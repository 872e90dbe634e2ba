import os

import pytest

UNDER_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require_system(condition: bool, reason: str) -> None:
    """Skip a test that needs a system package, except under CI, where it fails.

    CI must never pass by skipping what it was meant to prove.
    """
    if condition:
        return
    if UNDER_CI:
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)
