from django.core.management.commands import loaddata

from etanche.ops.refusal import RefusingCommand


class Command(RefusingCommand, loaddata.Command):
    help = ("Disabled on the command line: fixtures would write accounts and records past "
            "the journal and the vault.")
    refusal = (
        "not available in Étanche (fixtures write accounts and records past the journal and "
        "the vault): use `etanche users create` for accounts, `etanche demo` for demo data"
    )
    # Django's test framework may load fixtures in process into a test database.
    refuse_in_process = False
