"""Who is acting: a named user on the web, the OS user (and declared operator) on the CLI."""

import getpass
import os
from contextlib import contextmanager
from contextvars import ContextVar

_cli = False
# The channel a named user acts through, beside their name (a personal API token).
_through: ContextVar[str] = ContextVar("etanche_journal_through", default="")


@contextmanager
def acting_through(channel: str):
    """Entries recorded inside name `channel` beside the user (e.g. "jeton API #12"), so a
    read through a token is told apart from the same person's reads on the web."""
    reset = _through.set(channel)
    try:
        yield
    finally:
        _through.reset(reset)


def mark_cli() -> None:
    """Called by the `etanche` entry point: entries without a user name the OS user."""
    global _cli
    _cli = True


def describe(user=None, actor: str | None = None) -> str:
    if user is not None and getattr(user, "is_authenticated", False):
        channel = _through.get()
        return f"{user.get_username()} ({channel})" if channel else user.get_username()
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
