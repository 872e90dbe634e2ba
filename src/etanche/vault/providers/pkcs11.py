"""Master key in an HSM through PKCS#11 (python-pkcs11; SoftHSM2 in tests).

URI (RFC 7512, ``pkcs11://`` accepted too)::

    pkcs11:token=etanche;object=etanche-master?module-path=/usr/lib/softhsm/libsofthsm2.so

The PIN comes from ``pin-source=/path/to/file`` in the URI or from
ETANCHE_PKCS11_PIN / ETANCHE_PKCS11_PIN_FILE; ``pin-value=`` works but puts
the PIN in the environment. The key is an AES-256 secret key created
sensitive and non-extractable: wrapping and unwrapping happen inside the
token with CKM_AES_GCM, and the key bytes never reach this process.
"""

import os
from pathlib import Path
from urllib.parse import unquote

import tink
from tink import aead

from etanche.lib.env import env_secret
from etanche.vault.errors import MasterKeyError, MasterKeyMissing, ProviderUnavailable
from etanche.vault.providers.base import KekProvider

DEFAULT_MODULE = "/usr/lib/softhsm/libsofthsm2.so"
_NONCE = 12
_FORMAT = b"\x01"
_SESSIONS: dict = {}


def _pkcs11():
    # Imported on first use, not at the top: python-pkcs11's native module takes
    # about 60 ms to load, which installations with a file or KMS key never need.
    try:
        import pkcs11  # noqa: PLC0415
        import pkcs11.mechanisms  # noqa: PLC0415
    except ImportError:
        raise ProviderUnavailable("PKCS#11 master keys need python-pkcs11") from None
    return pkcs11


def parse_uri(uri: str) -> tuple[dict[str, str], dict[str, str]]:
    rest = uri[len("pkcs11:"):]
    rest = rest.removeprefix("//")
    path, _, query = rest.partition("?")
    attrs = dict(_pairs(path, ";"))
    params = dict(_pairs(query, "&"))
    return attrs, params


def _pairs(text: str, sep: str):
    for part in filter(None, text.split(sep)):
        name, eq, value = part.partition("=")
        if not eq:
            raise MasterKeyError(f"ETANCHE_MASTER_KEY: malformed PKCS#11 URI attribute {name!r}")
        yield unquote(name), unquote(value)


class _HsmAead(aead.Aead):
    """Tink's Aead interface over a token-resident AES-GCM key."""

    def __init__(self, key):
        self._key = key

    def encrypt(self, plaintext: bytes, associated_data: bytes) -> bytes:
        p11 = _pkcs11()
        nonce = os.urandom(_NONCE)
        body = self._key.encrypt(
            plaintext,
            mechanism=p11.Mechanism.AES_GCM,
            mechanism_param=p11.mechanisms.GCMParams(nonce, associated_data or None),
        )
        return _FORMAT + nonce + bytes(body)

    def decrypt(self, ciphertext: bytes, associated_data: bytes) -> bytes:
        p11 = _pkcs11()
        if len(ciphertext) < 1 + _NONCE + 16 or ciphertext[:1] != _FORMAT:
            raise tink.TinkError("not an HSM-wrapped value")
        nonce, body = ciphertext[1 : 1 + _NONCE], ciphertext[1 + _NONCE :]
        try:
            return bytes(
                self._key.decrypt(
                    body,
                    mechanism=p11.Mechanism.AES_GCM,
                    mechanism_param=p11.mechanisms.GCMParams(nonce, associated_data or None),
                )
            )
        except p11.PKCS11Error as exc:
            raise tink.TinkError("HSM decryption failed") from exc


class Pkcs11Provider(KekProvider):
    can_create = True

    def __init__(self, uri: str):
        super().__init__(uri)
        attrs, params = parse_uri(uri)
        self.token_label = attrs.get("token")
        self.object_label = attrs.get("object", "etanche-master")
        if not self.token_label:
            raise MasterKeyError("ETANCHE_MASTER_KEY: the PKCS#11 URI needs token=LABEL")
        self.module = params.get("module-path") or os.environ.get(
            "ETANCHE_PKCS11_MODULE", DEFAULT_MODULE
        )
        self._pin_value = params.get("pin-value")
        self._pin_source = params.get("pin-source")

    def describe(self) -> str:
        return f"pkcs11:token={self.token_label};object={self.object_label}"

    def key_id(self) -> str:
        return f"pkcs11:{self.token_label}/{self.object_label}"

    def _pin(self) -> str:
        if self._pin_value:
            return self._pin_value
        if self._pin_source:
            source = self._pin_source.removeprefix("file:")
            try:
                return Path(source).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ProviderUnavailable(
                    f"cannot read the PKCS#11 PIN file {source} ({exc.strerror})"
                ) from None
        pin = env_secret("ETANCHE_PKCS11_PIN")
        if not pin:
            raise ProviderUnavailable(
                "no PKCS#11 PIN: set ETANCHE_PKCS11_PIN(_FILE) or pin-source= in the URI"
            )
        return pin

    def _open(self):
        # PKCS#11 logs in per process and token, not per session: share one session
        # per (process, module, token). Per process because gunicorn forks workers.
        cache_key = (os.getpid(), self.module, self.token_label)
        if cache_key in _SESSIONS:
            return _SESSIONS[cache_key]
        pkcs11 = _pkcs11()
        if not Path(self.module).exists():
            raise ProviderUnavailable(
                f"PKCS#11 module {self.module} not found; install the HSM's library "
                "(Debian: apt-get install softhsm2) or set module-path= in the URI"
            )
        try:
            lib = pkcs11.lib(self.module)
            token = lib.get_token(token_label=self.token_label)
            session = token.open(user_pin=self._pin(), rw=True)
        except pkcs11.NoSuchToken:
            raise ProviderUnavailable(
                f"PKCS#11 token {self.token_label!r} not found; initialise it or fix token= "
                "in ETANCHE_MASTER_KEY"
            ) from None
        except pkcs11.PKCS11Error as exc:
            raise ProviderUnavailable(
                f"cannot open PKCS#11 token {self.token_label!r} ({type(exc).__name__}); "
                "check the PIN and the module"
            ) from None
        _SESSIONS[cache_key] = session
        return session

    def _key(self):
        pkcs11 = _pkcs11()
        try:
            return self._open().get_key(
                object_class=pkcs11.ObjectClass.SECRET_KEY,
                key_type=pkcs11.KeyType.AES,
                label=self.object_label,
            )
        except pkcs11.NoSuchKey:
            raise MasterKeyMissing(
                f"no AES key labelled {self.object_label!r} on PKCS#11 token "
                f"{self.token_label!r}; run `etanche init` on a new installation, or fix object="
            ) from None
        except pkcs11.MultipleObjectsReturned:
            raise MasterKeyError(
                f"several keys labelled {self.object_label!r} on token {self.token_label!r}; "
                "keep exactly one"
            ) from None

    def exists(self) -> bool:
        try:
            self._key()
        except MasterKeyMissing:
            return False
        return True

    def aead(self):
        return _HsmAead(self._key())

    def create(self) -> None:
        pkcs11 = _pkcs11()
        if self.exists():
            raise MasterKeyError(f"token {self.token_label!r} already holds {self.object_label!r}")
        self._open().generate_key(
            pkcs11.KeyType.AES,
            256,
            label=self.object_label,
            store=True,
            capabilities=pkcs11.MechanismFlag.ENCRYPT | pkcs11.MechanismFlag.DECRYPT,
            template={pkcs11.Attribute.SENSITIVE: True, pkcs11.Attribute.EXTRACTABLE: False},
        )

    def destroy(self) -> None:
        self._key().destroy()
