"""The `etanche` console script: every Django management command, one entry point.

Bad configuration ends in one line on stderr and exit status 2, never a traceback.
"""

import os
import sys

import django
from django.core.exceptions import ImproperlyConfigured
from django.core.management import execute_from_command_line, get_commands, load_command_class
from django.db import OperationalError

from etanche.journal.actor import mark_cli
from etanche.lib.datadir import ensure_data_dir

HELP_WORDS = {"help", "--help", "-h"}


def _wants_help(argv: list[str]) -> bool:
    return len(argv) < 2 or argv[1] in HELP_WORDS or any(a in ("--help", "-h") for a in argv[2:])


def _print_overview() -> None:

    print("usage: etanche SUBCOMMAND [options]   (etanche SUBCOMMAND --help for details)\n")
    rows = []
    for name, app in sorted(get_commands().items()):
        try:
            summary = (load_command_class(app, name).help or "").strip().splitlines()
        except Exception:  # noqa: BLE001  a broken third-party command must not hide the rest
            summary = []
        first = summary[0] if summary else ""
        rows.append((name, first.split(". ")[0].rstrip(".")))
    width = max(len(name) for name, _ in rows)
    for name, summary in rows:
        print(f"  {name.ljust(width)}  {summary}")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv if argv is None else argv)
    argv[0] = "etanche"
    # Whatever Étanche writes (database, keys, exports) is for its own user only.
    os.umask(0o077)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "etanche.settings")

    if _wants_help(argv):
        # Help must work before `etanche init` has created a secret key.
        os.environ["ETANCHE_EPHEMERAL_SECRET"] = "1"  # noqa: S105  (a flag, not a secret)
    elif argv[1] == "init" or argv[1:3] in (["keys", "recover"], ["backup", "restore"]):
        # The data directory must exist before settings look for the key in it; a
        # recovery or a restore runs on a new machine, before the secret key is back.
        ensure_data_dir()
        os.environ["ETANCHE_EPHEMERAL_SECRET"] = "1"  # noqa: S105  (a flag, not a secret)


    try:
        django.setup()
    except ImproperlyConfigured as exc:
        print(f"etanche: configuration error: {exc}", file=sys.stderr)
        return 2

    if len(argv) < 2 or argv[1] in HELP_WORDS and len(argv) == 2:
        _print_overview()
        return 0

    mark_cli()

    try:
        execute_from_command_line(argv)
    except OperationalError as exc:
        # An unreachable or missing database is the environment, not a bug.
        print(f"etanche: database error: {exc} (is `etanche init` done?)", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
