from django.core.management.commands import flush

from etanche.ops.refusal import RefusingCommand


class Command(RefusingCommand, flush.Command):
    help = ("Disabled on the command line: emptying the database would erase every account "
            "and the journal.")
    refusal = (
        "not available in Étanche (it would erase every account and the journal without a "
        "trace): use `etanche users disable USERNAME` or `etanche labs shred SLUG`"
    )
    # Django's test framework empties test databases with call_command("flush").
    refuse_in_process = False
