from django_otp.plugins.otp_static.management.commands import addstatictoken

from etanche.ops.refusal import RefusingCommand


class Command(RefusingCommand, addstatictoken.Command):
    help = ("Disabled: use `etanche users reset-mfa USERNAME` (journaled; the person enrols "
            "again and gets new recovery codes).")
    refusal = (
        "not available in Étanche (a code set by an operator skips the journal): use "
        "`etanche users reset-mfa USERNAME`; the person enrols again at next login"
    )
