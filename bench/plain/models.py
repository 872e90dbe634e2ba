"""Plaintext twins of Patient and Order: the baseline that isolates the cost of protection.

Every identity field in clear, searched by ordinary indexed columns holding the
same normalised keys the sealed path feeds its blind indexes (name search key,
phonetic key, E.164 phone). No envelope, no blind index, no journal. Bench only:
these tables exist solely in throwaway benchmark databases.
"""

from django.conf import settings
from django.db import models

from etanche.vault.models import new_record_id


class PlainPatient(models.Model):
    # As in patients.Patient: every index below leads with lab.
    lab = models.ForeignKey("labs.Lab", on_delete=models.CASCADE, related_name="+",
                            db_index=False)
    created_at = models.DateTimeField()
    birth_name = models.CharField(max_length=100)
    birth_name_key = models.CharField(max_length=100)
    first_names = models.CharField(max_length=300)  # space-separated
    used_name = models.CharField(max_length=100, blank=True)
    used_name_key = models.CharField(max_length=100, blank=True)
    used_first_name = models.CharField(max_length=100, blank=True)
    birth_date = models.CharField(max_length=10)  # ISO, as in the envelope
    sex = models.CharField(max_length=1)
    birthplace_code = models.CharField(max_length=5)
    birthplace_label = models.CharField(max_length=200, blank=True)
    ins = models.CharField(max_length=15, blank=True)
    ins_oid = models.CharField(max_length=40, blank=True)
    identity_status = models.CharField(max_length=5)
    phonetic_dob = models.CharField(max_length=80, blank=True)
    street = models.CharField(max_length=200, blank=True)
    postal_code = models.CharField(max_length=10, blank=True)
    city = models.CharField(max_length=200, blank=True)
    phone = models.CharField(max_length=20, blank=True)
    phone2 = models.CharField(max_length=20, blank=True)
    email = models.CharField(max_length=200, blank=True)
    amo_regime = models.CharField(max_length=2, blank=True)
    amo_fund = models.CharField(max_length=3, blank=True)
    amo_centre = models.CharField(max_length=4, blank=True)
    amc_insurer = models.CharField(max_length=200, blank=True)
    amc_contract = models.CharField(max_length=200, blank=True)
    physician_name = models.CharField(max_length=200, blank=True)
    physician_rpps = models.CharField(max_length=11, blank=True)
    blood_group = models.CharField(max_length=4, blank=True)
    notes = models.TextField(blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["lab", "ins"], name="plain_ins"),
            models.Index(fields=["lab", "birth_name_key", "birth_date"], name="plain_birth"),
            models.Index(fields=["lab", "used_name_key", "birth_date"], name="plain_used"),
            models.Index(fields=["lab", "phonetic_dob"], name="plain_phonetic"),
            models.Index(fields=["lab", "phone"], name="plain_phone"),
        ]

    def __str__(self):
        return f"plain patient #{self.pk}"


class PlainOrder(models.Model):
    # Known before the INSERT, as the product's order ids are (same INSERT, no RETURNING).
    id = models.BigIntegerField(primary_key=True, default=new_record_id, editable=False)
    lab = models.ForeignKey("labs.Lab", on_delete=models.CASCADE, related_name="+")
    patient = models.ForeignKey(PlainPatient, on_delete=models.CASCADE, related_name="orders")
    number = models.CharField(max_length=20)
    urgent = models.BooleanField(default=False)
    status = models.CharField(max_length=12, default="registered")
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    prescriber_name = models.CharField(max_length=200)
    prescriber_rpps = models.CharField(max_length=11, blank=True)
    prescription_date = models.CharField(max_length=10)
    clinical_info = models.TextField(blank=True)
    answers = models.JSONField(default=dict)
    fasting = models.BooleanField(null=True)
    notes = models.TextField(blank=True)

    def __str__(self):
        return f"plain order {self.number}"


class PlainOrderTest(models.Model):
    order = models.ForeignKey(PlainOrder, on_delete=models.CASCADE, related_name="tests")
    code = models.CharField(max_length=12)
    label = models.CharField(max_length=200)
    specimen = models.CharField(max_length=20)

    def __str__(self):
        return self.code


class PlainSpecimen(models.Model):
    order = models.ForeignKey(PlainOrder, on_delete=models.CASCADE, related_name="specimens")
    barcode = models.CharField(max_length=20)
    container = models.CharField(max_length=20)

    def __str__(self):
        return self.barcode
