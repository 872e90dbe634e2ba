"""The label PDF, read without reportlab: raw bytes, poppler's pdftotext, zbar's decoder."""

import json
import re
import shutil
import subprocess
from datetime import date

import pytest

from etanche.journal.models import Entry
from etanche.orders import labels, services
from tests.conftest import require_system
from tests.orders.helpers import make_patient
from tests.personas import sign_in

pytestmark = pytest.mark.usefixtures("front_office")


@pytest.fixture
def printed(world):
    patient = make_patient(world.lab_a, world.frontdesk, birth_name="Le Goff",
                           used_name="Tanguy", first_names=["Anne-Sophie"],
                           birth_date="1979-11-30")
    order = services.create_order(world.lab_a, world.frontdesk, patient,
                                  tests=["1104", "1208", "0127"], prescriber_name="Dr Le Bras",
                                  prescription_date="2026-01-05",
                                  answers={"anticoagulant": "aucun"})
    services.record_sampling(world.lab_a, world.frontdesk, order)
    world.printed_order = order
    return services.label_pdf(world.lab_a, world.frontdesk, order)


def test_it_draws_one_label_page_per_specimen_with_barcode_bars(printed):
    assert printed.startswith(b"%PDF-")
    assert printed.count(b"/Type /Page\n") + printed.count(b"/Type /Page ") >= 3
    # 50 x 25 mm media box (141.7 x 70.9 points)
    assert re.search(rb"/MediaBox \[ 0 0 141\.7\d* 70\.8\d* \]", printed)
    # Code 128 bars are filled rectangles: many "re" operators per page
    assert len(re.findall(rb" re f", printed)) >= 3 * 20


def test_it_prints_identity_and_collection_on_each_label(world, printed):
    require_system(shutil.which("pdftotext") is not None, "poppler-utils is not installed")
    text = subprocess.run([shutil.which("pdftotext"), "-layout", "-", "-"], input=printed,
                          capture_output=True, check=True).stdout.decode()
    pages = text.split("\f")[:3]
    for page in pages:
        assert "LE GOFF ép./usage TANGUY" in page
        assert "Anne-Sophie" in page and "30/11/1979" in page and " F" in page
        assert "par Julien Martin" in page
        assert re.search(r"Prél\. \d\d/\d\d/\d{4} \d\d:\d\d", page)


def test_it_encodes_the_specimen_id_in_a_readable_code_128(world, printed, tmp_path):
    require_system(shutil.which("pdftoppm") is not None, "poppler-utils is not installed")
    require_system(shutil.which("zbarimg") is not None, "zbar-tools is not installed")
    subprocess.run([shutil.which("pdftoppm"), "-r", "300", "-png", "-", str(tmp_path / "label")],
                   input=printed, check=True)
    decoded = []
    for image in sorted(tmp_path.glob("label-*.png")):
        out = subprocess.run([shutil.which("zbarimg"), "-q", "--raw", str(image)],
                             capture_output=True, text=True)
        decoded.append(out.stdout.strip())
    barcodes = [s.barcode for s in world.printed_order.specimens.order_by("barcode")]
    assert decoded == barcodes


def test_it_journals_the_print(world, printed):
    entry = Entry.objects.filter(lab_id=world.lab_a.pk, action="print").get()
    assert entry.object_type == "patient"
    assert json.loads(entry.detail) == {"order": world.printed_order.pk, "labels": 3}


def test_it_leaves_collection_blank_before_sampling_and_refuses_cancelled(world):
    pdf = services.label_pdf(world.lab_a, world.frontdesk, world.order)
    assert "__h__" in _text(pdf)
    cancelled = services.cancel(world.lab_a, world.frontdesk, world.order, "erreur de saisie")
    with pytest.raises(services.TransitionRefused):
        services.label_pdf(world.lab_a, world.frontdesk, cancelled)


# --- issue 24, item 9: what quality rules ask of a tube, every character, one tube again ----

def _text(pdf: bytes) -> str:
    require_system(shutil.which("pdftotext") is not None, "poppler-utils is not installed")
    return subprocess.run([shutil.which("pdftotext"), "-layout", "-", "-"], input=pdf,
                          capture_output=True, check=True).stdout.decode()


def test_an_urgent_request_prints_urgent_and_its_number_on_every_tube(world):
    patient = make_patient(world.lab_a, world.frontdesk, birth_name="Le Goff")
    order = services.create_order(world.lab_a, world.frontdesk, patient, tests=["1104", "1208"],
                                  prescriber_name="Dr Le Bras", prescription_date="2026-01-05",
                                  urgent=True)
    pages = _text(services.label_pdf(world.lab_a, world.frontdesk, order)).split("\f")[:2]
    for page, tube in zip(pages, order.specimens.order_by("barcode"), strict=True):
        assert "URGENT" in page and f"Demande {order.number}" in page
        assert tube.barcode in page and "LE GOFF" in page


def test_every_character_prints_in_an_embedded_font():
    pdf = labels.render(
        labels.LabelIdentity(birth_name="Nguyễn", used_name="", first_name="Thị Ễ Œdipe",
                             birth_date=date(1990, 1, 2), sex="F"),
        [labels.LabelSpecimen(barcode="202600000101", container="EDTA (violet)",
                              sampled_at=None, collector="", order_number="2026-000001")])
    assert b"/FontFile2" in pdf  # the TrueType font is in the file, not left to the printer
    assert b"Helvetica" not in pdf
    text = _text(pdf)
    assert "NGUYỄN" in text and "Thị Ễ Œdipe" in text


def test_a_single_tube_is_reprinted_and_journaled_as_a_reprint(world, printed, client):
    tubes = list(world.printed_order.specimens.order_by("barcode"))
    sign_in(client, world.frontdesk)
    url = f"/demandes/{world.printed_order.pk}/etiquettes.pdf"
    response = client.get(url, {"tube": "2"})
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    text = _text(response.content)
    assert text.count("\f") <= 1 and tubes[1].barcode in text and tubes[0].barcode not in text
    entry = Entry.objects.filter(lab_id=world.lab_a.pk, action="print").order_by("-pk").first()
    assert json.loads(entry.detail)["reprint"] is True
    assert client.get(url, {"tube": "9"}).status_code == 404
    assert client.get(url, {"tube": "x"}).status_code == 404
