"""Typed readers for environment variables.

Configuration comes from the environment only. Secrets also accept a
``NAME_FILE`` variant pointing to a file, so that they can come from a
container secret or a file readable by the service account alone.
"""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return default if value is None else value


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be 0 or 1, not {value!r}")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_secret(name: str) -> str | None:
    """Read a secret from NAME, or from the file named by NAME_FILE.

    Setting both is refused: it would be ambiguous which one is used.
    """
    value = os.environ.get(name)
    file_name = os.environ.get(f"{name}_FILE")
    if value and file_name:
        raise ImproperlyConfigured(f"set {name} or {name}_FILE, not both")
    if file_name:
        path = Path(file_name)
        try:
            return path.read_text(encoding="utf-8").strip() or None
        except OSError as exc:
            raise ImproperlyConfigured(
                f"{name}_FILE: cannot read {path} ({exc.strerror})"
            ) from None
    return value or None
