"""Vault errors: one English line naming the problem and what to do.

Messages never carry personal data or key material: they may end up in a log,
on stderr or on an error page.
"""

from django.core.management.base import CommandError


class VaultError(CommandError):
    """Base class: the vault cannot do what was asked.

    A CommandError so that any `etanche` subcommand reaching the vault, not only
    the vault's own, ends in one line and exit status 1 instead of a traceback.
    """


class MasterKeyError(VaultError):
    """The master key (KEK) is missing, wrong, corrupt, unsafe or unreachable."""


class MasterKeyMissing(MasterKeyError):
    pass


class MasterKeyWrong(MasterKeyError):
    pass


class MasterKeyCorrupt(MasterKeyError):
    pass


class MasterKeyInsecure(MasterKeyError):
    pass


class ProviderUnavailable(MasterKeyError):
    """The HSM or KMS behind ETANCHE_MASTER_KEY cannot be used."""


class LabKeysMissing(VaultError):
    """The lab has no keys (never provisioned, or shredded)."""


class LabKeysCorrupt(VaultError):
    """A wrapped lab keyset does not unwrap although the master key is right."""


class TamperedData(VaultError):
    """A sealed value does not open: altered, truncated or moved to another row."""


class UnknownIndex(VaultError):
    pass


class RefusedOverExistingData(VaultError):
    """Creating a key would hide or orphan data sealed under an existing one."""


class InstanceSealError(VaultError):
    """A value sealed under the instance secret does not open: wrong or rotated-out
    SECRET_KEY, or a row copied or tampered with."""
