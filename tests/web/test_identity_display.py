"""Issue 24, item 10: names in capitals as typed or not, "INS" only for a qualified
identity, phones read in French national format while stored in E.164."""

import pytest
from django.test import Client
from django.urls import reverse

from etanche.web.templatetags.patient_values import phone_fr
from tests.orders.helpers import make_patient
from tests.personas import sign_in


@pytest.mark.parametrize(("stored", "shown"), [
    ("+33639980077", "06 39 98 00 77"), ("+33139900012", "01 39 90 00 12"),
    ("+262692123456", "0692 12 34 56"), ("+4915123456789", "+49 1512 3456789"),
    ("", ""), ("pas un numéro", "pas un numéro"),
])
def test_phones_read_as_people_write_them(stored, shown):
    assert phone_fr(stored) == shown


def test_the_patient_page_shows_capitals_national_phones_and_no_ins_unqualified(world):
    patient = make_patient(world.lab_a, world.frontdesk, birth_name="le Gall",
                           used_name="Tanguy", phones=["06 39 98 00 77"])
    assert patient.get_sealed()["phones"] == ["+33639980077"]
    page = sign_in(Client(), world.frontdesk).get(
        reverse("patient_detail", args=[patient.pk])).content.decode()
    assert "LE GALL" in page and "TANGUY" in page
    assert "06 39 98 00 77" in page and "+33639980077" not in page
    assert '<th scope="row">INS</th>' not in page  # a provisional identity has no INS
