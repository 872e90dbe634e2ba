"""django-otp devices whose secrets are not in clear in the database (docs/adr/0005).

Both are django-otp `Device`s (django_otp.login, verify_token, OTPMiddleware
and the throttling mixin work unchanged). The TOTP device reuses django-otp's
own TOTPDevice verification and otpauth URI code; only where the seed is kept
differs. Recovery codes are stored as keyed hashes and deleted when used. The vault
holds the keys (vault/instance.py).
"""

import base64
import os

from django.conf import settings
from django.db import models
from django_otp.models import Device, ThrottlingMixin, TimestampMixin
from django_otp.plugins.otp_totp.models import TOTPDevice

from etanche.lib.personal_data import Protection as P
from etanche.vault import instance

_DEVICE = {
    "id": P.NONE, "user": P.PSEUDONYMOUS, "name": P.NONE, "confirmed": P.NONE,
    "throttling_failure_timestamp": P.STAFF_CLEAR, "throttling_failure_count": P.NONE,
}

SEED_BYTES = 20  # RFC 4226 recommends 160 bits; what authenticator apps expect


class SealedTOTPDevice(TimestampMixin, ThrottlingMixin, Device):
    sealed_key = models.BinaryField(editable=False)
    step = models.PositiveSmallIntegerField(default=30)
    t0 = models.BigIntegerField(default=0)
    digits = models.PositiveSmallIntegerField(choices=[(6, 6), (8, 8)], default=6)
    tolerance = models.PositiveSmallIntegerField(default=1)
    drift = models.SmallIntegerField(default=0)
    last_t = models.BigIntegerField(default=-1)

    PERSONAL_DATA = {
        **_DEVICE, "created_at": P.STAFF_CLEAR, "last_used_at": P.STAFF_CLEAR,
        "sealed_key": P.KEY_MATERIAL, "step": P.NONE, "t0": P.NONE, "digits": P.NONE,
        "tolerance": P.NONE, "drift": P.NONE, "last_t": P.STAFF_CLEAR,
    }

    class Meta(Device.Meta):
        verbose_name = "TOTP device (sealed seed)"

    # django-otp's own code, which reads the seed only through `bin_key`.
    verify_token = TOTPDevice.verify_token
    get_throttle_factor = TOTPDevice.get_throttle_factor
    config_url = TOTPDevice.config_url
    _read_str_from_settings = TOTPDevice._read_str_from_settings

    def set_seed(self, raw: bytes) -> None:
        self.sealed_key = instance.seal_totp_seed(raw, user_id=self.user_id)
        self.__dict__.pop("_seed", None)

    @property
    def bin_key(self) -> bytes:
        if "_seed" not in self.__dict__:
            self.__dict__["_seed"] = instance.unseal_totp_seed(
                self.sealed_key, user_id=self.user_id
            )
        return self.__dict__["_seed"]

    def save(self, *args, **kwargs):
        if not self.sealed_key:
            self.set_seed(os.urandom(SEED_BYTES))
        super().save(*args, **kwargs)


def new_recovery_code() -> str:
    # django-otp's StaticToken format: 8 base32 characters (40 bits), lower case.
    return base64.b32encode(os.urandom(5)).decode().lower()


class RecoveryCodeDevice(ThrottlingMixin, Device):
    PERSONAL_DATA = _DEVICE

    class Meta(Device.Meta):
        verbose_name = "recovery codes (hashed)"

    def add_codes(self, codes: list[str]) -> None:
        user_id = self.user_id
        RecoveryCode.objects.bulk_create([
            RecoveryCode(device=self, digest=instance.recovery_code_digests(c, user_id=user_id)[0])
            for c in codes
        ])

    def verify_token(self, token) -> bool:
        allowed, _ = self.verify_is_allowed()
        if not allowed:
            return False
        digests = instance.recovery_code_digests(str(token), user_id=self.user_id)
        # Deleting is what makes a code single-use, even for two requests at once.
        used, _ = RecoveryCode.objects.filter(device=self, digest__in=digests).delete()
        if used:
            self.throttle_reset(commit=True)
        else:
            self.throttle_increment(commit=True)
        return bool(used)

    def get_throttle_factor(self):
        return getattr(settings, "OTP_STATIC_THROTTLE_FACTOR", 1)


class RecoveryCode(models.Model):
    device = models.ForeignKey(RecoveryCodeDevice, on_delete=models.CASCADE,
                               related_name="codes")
    digest = models.CharField(max_length=64, db_index=True)

    PERSONAL_DATA = {"id": P.NONE, "device": P.PSEUDONYMOUS, "digest": P.HASHED}

    def __str__(self):
        return f"recovery code #{self.pk}"
