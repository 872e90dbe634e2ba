"""Move TOTP seeds and recovery codes out of django-otp's clear tables (docs/adr/0005).

Seeds are sealed into accounts.SealedTOTPDevice, recovery codes hashed into
accounts.RecoveryCode, and the clear rows deleted in the same transaction.
Sessions verified with an old device id ask for a code once more.
Reversing puts the seeds back in clear; hashed recovery codes cannot be
reversed, so they are dropped (users regenerate them under *Mon compte*).
"""

from binascii import hexlify, unhexlify

from django.db import migrations

from etanche.vault import instance

_DEVICE_FIELDS = ("name", "confirmed", "throttling_failure_timestamp",
                  "throttling_failure_count")
_TOTP_FIELDS = ("step", "t0", "digits", "tolerance", "drift", "last_t", "created_at",
                "last_used_at")


def forward(apps, schema_editor):
    ClearTOTP = apps.get_model("otp_totp", "TOTPDevice")
    ClearStatic = apps.get_model("otp_static", "StaticDevice")
    SealedTOTP = apps.get_model("accounts", "SealedTOTPDevice")
    CodeDevice = apps.get_model("accounts", "RecoveryCodeDevice")
    Code = apps.get_model("accounts", "RecoveryCode")
    for old in ClearTOTP.objects.all():
        new = SealedTOTP.objects.create(
            user_id=old.user_id,
            sealed_key=instance.seal_totp_seed(unhexlify(old.key), user_id=old.user_id),
            **{f: getattr(old, f) for f in _DEVICE_FIELDS + _TOTP_FIELDS},
        )
        # auto_now_add replaced the enrolment date on create.
        SealedTOTP.objects.filter(pk=new.pk).update(created_at=old.created_at)
    ClearTOTP.objects.all().delete()
    for old in ClearStatic.objects.all():
        new = CodeDevice.objects.create(user_id=old.user_id,
                                        **{f: getattr(old, f) for f in _DEVICE_FIELDS})
        Code.objects.bulk_create([
            Code(device=new, digest=instance.recovery_code_digests(t.token, user_id=old.user_id)[0])
            for t in old.token_set.all()
        ])
    ClearStatic.objects.all().delete()


def backward(apps, schema_editor):
    ClearTOTP = apps.get_model("otp_totp", "TOTPDevice")
    SealedTOTP = apps.get_model("accounts", "SealedTOTPDevice")
    for new in SealedTOTP.objects.all():
        seed = instance.unseal_totp_seed(bytes(new.sealed_key), user_id=new.user_id)
        ClearTOTP.objects.create(user_id=new.user_id, key=hexlify(seed).decode(),
                                 **{f: getattr(new, f) for f in _DEVICE_FIELDS + _TOTP_FIELDS})
    SealedTOTP.objects.all().delete()
    apps.get_model("accounts", "RecoveryCodeDevice").objects.all().delete()


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0003_sealed_second_factor"),
        ("otp_totp", "0003_add_timestamps"),
        ("otp_static", "0003_add_timestamps"),
    ]

    operations = [migrations.RunPython(forward, backward)]
