"""Inherited commands that would change accounts or wipe data behind the journal's back.

Django and django-otp ship commands that write accounts directly: no journal
entry, no one-time password, no forced change at next login. Étanche shadows
them (the ops app is first in INSTALLED_APPS, so its commands win) with a
refusal that names the command to use instead.
"""

import sys

from django.core.management.base import CommandError

HELP_FLAGS = {"-h", "--help"}


class RefusingCommand:
    """Mixin placed before the Django command it shadows.

    From the command line: one line on stderr and exit status 1, whatever the
    arguments (`--help` still works). In process (`call_command`) it refuses
    too, unless `refuse_in_process` is False: Django's test framework empties
    test databases with `call_command("flush")`, which must keep working.
    """

    refusal = ""
    refuse_in_process = True

    def run_from_argv(self, argv):
        if HELP_FLAGS & set(argv[2:]):
            return super().run_from_argv(argv)
        self.stderr.write(f"CommandError: {self.refusal}")
        sys.exit(1)

    def handle(self, *args, **options):
        if self.refuse_in_process:
            raise CommandError(self.refusal)
        return super().handle(*args, **options)
