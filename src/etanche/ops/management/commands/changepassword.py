from django.contrib.auth.management.commands import changepassword

from etanche.ops.refusal import RefusingCommand


class Command(RefusingCommand, changepassword.Command):
    help = ("Disabled: use `etanche users reset-password USERNAME` (journaled, one-time "
            "password changed at next login).")
    refusal = (
        "not available in Étanche (it skips the journal and the change at next login): use "
        "`etanche users reset-password USERNAME`"
    )
