import abc

from tink import aead


class KekProvider(abc.ABC):
    """Where the master key lives. Never returns key material, only an Aead."""

    #: Whether `create()` can make a new key here (a KMS key is made in the cloud console).
    can_create = False

    def __init__(self, uri: str):
        self.uri = uri

    @abc.abstractmethod
    def describe(self) -> str:
        """The URI without secrets (PINs), fit for output and messages."""

    @abc.abstractmethod
    def key_id(self) -> str:
        """A stable, non-secret name of the key, recorded with what it wraps."""

    @abc.abstractmethod
    def exists(self) -> bool:
        ...

    def create(self) -> None:
        raise NotImplementedError

    def destroy(self) -> None:
        raise NotImplementedError

    @abc.abstractmethod
    def aead(self) -> aead.Aead:
        ...
