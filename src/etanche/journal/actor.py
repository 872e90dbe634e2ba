"""Who is acting: a named user on the web, the OS user (and declared operator) on the CLI."""

import getpass
import os

_cli = False


def mark_cli() -> None:
    """Called by the `etanche` entry point: entries without a user name the OS user."""
    global _cli
    _cli = True


def describe(user=None, actor: str | None = None) -> str:
    if user is not None and getattr(user, "is_authenticated", False):
        return user.get_username()
    if actor:
        return actor
    if _cli:
        try:
            os_user = getpass.getuser()
        except (KeyError, OSError):
            os_user = f"uid{os.getuid()}"
        operator = os.environ.get("ETANCHE_OPERATOR", "").strip()
        return f"cli:{os_user}" + (f" ({operator})" if operator else "")
    return "anonymous"
