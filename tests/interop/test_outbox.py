"""Messages are written, sealed, in the transaction of the change that causes them."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from etanche.accounts.models import Role
from etanche.interop import hl7, inbound, outbox, progress
from etanche.interop import services as interop
from etanche.interop.models import FillerStatus, OutboxMessage
from etanche.orders import services as orders
from etanche.orders.models import Order
from etanche.patients import services as patients
from tests.interop.peer import validate
from tests.orders.helpers import make_order, make_patient


def _messages(**filters):
    return list(OutboxMessage.objects.filter(**filters).order_by("created_at"))


def _er7(message) -> str:
    return message.get_sealed()["er7"]


def test_a_new_request_writes_a_valid_oml_o21(world, destination):
    patient = make_patient(world.lab_a, world.frontdesk)
    order = make_order(world.lab_a, world.frontdesk, patient, clinical_info="Fièvre nocturne")
    (message,) = _messages(message_type="OML^O21")
    assert (message.patient_ref, message.order_ref, message.event) == (patient.pk, order.pk, "NW")
    parsed = validate(_er7(message))
    hl7.validate(_er7(message))  # ours agrees with the receiver's
    segments = _er7(message).split("\r")
    assert parsed.msh.msh_10.to_er7() == message.control_id
    pid = next(s for s in segments if s.startswith("PID"))
    assert f"{patient.pk}^^^ETANCHE^PI" in pid and "^INS" not in pid  # PROV: no INS
    orcs = [s for s in segments if s.startswith("ORC")]
    obrs = [s for s in segments if s.startswith("OBR")]
    assert len(orcs) == len(obrs) == order.tests.count()
    assert all(s.startswith(f"ORC|NW|{order.number}^ETANCHE") for s in orcs)
    codes = {s.split("|")[4].split("^")[0] for s in obrs}
    assert codes == set(order.tests.values_list("code", flat=True))
    barcodes = {s.split("|")[2].split("&")[0] for s in segments if s.startswith("SPM")}
    assert barcodes == set(order.specimens.values_list("barcode", flat=True))
    assert "Fièvre nocturne" not in _er7(message)  # the destination takes no clinical info


def test_clinical_information_only_where_the_destination_allows(world, port):
    interop.add_destination("lis-clin", lab=world.lab_a, host="127.0.0.1", port=port,
                            messages="orders", clinical_info=True)
    patient = make_patient(world.lab_a, world.frontdesk)
    make_order(world.lab_a, world.frontdesk, patient, clinical_info="Fièvre nocturne")
    (message,) = _messages(message_type="OML^O21")
    obr = next(s for s in _er7(message).split("\r") if s.startswith("OBR"))
    assert obr.split("|")[13] == "Fièvre nocturne"


def test_a_cancellation_is_an_oml_o21_ca(world, destination):
    patient = make_patient(world.lab_a, world.frontdesk)
    order = make_order(world.lab_a, world.frontdesk, patient)
    orders.cancel(world.lab_a, world.frontdesk, order, "Demande en double")
    new, cancel = _messages(message_type="OML^O21")
    assert (new.event, cancel.event) == ("NW", "CA")
    assert new.control_id != cancel.control_id
    validate(_er7(cancel))
    assert "ORC|CA|" in _er7(cancel)


def test_the_ins_travels_only_with_a_qualified_identity():
    header = hl7.Header("123456789", "LIS", "PLATEAU", "ET0001")
    request = hl7.Request("2026-000001", False, (hl7.Test("1104", "NFS", "nabm"),))
    for status, expected in (("PROV", False), ("VALI", False), ("QUAL", True)):
        person = hl7.Person(7, "Kergoat", ("Maëlle",), "1984-03-02", "F",
                            ins="284033523812345", ins_oid="1.2.250.1.213.1.4.10",
                            identity_status=status)
        er7 = hl7.order_message(header, person, request, hl7.NEW, clinical_info=False)
        validate(er7)
        assert ("284033523812345^^^&1.2.250.1.213.1.4.10&ISO^INS" in er7) is expected


def test_delimiters_in_values_are_escaped():
    header = hl7.Header("123456789", "LIS", "PLATEAU", "ET0002")
    person = hl7.Person(7, "Ker|goat^x", ("Maë&lle",), "1984-03-02", "F")
    request = hl7.Request("2026-000001", True, (hl7.Test("1104", "NFS ~ test", "nabm"),),
                          clinical_info="a|b")
    er7 = hl7.order_message(header, person, request, hl7.NEW, clinical_info=True)
    parsed = validate(er7)
    assert parsed.children[1].pid.pid_5.pid_5_1.to_er7() == "Ker\\F\\goat\\S\\x"
    assert "TQ1|1||||||||S" in er7  # urgent


def test_patient_created_corrected_and_merged_become_a28_a31_a40(world, destination):
    first = make_patient(world.lab_a, world.frontdesk)
    second = make_patient(world.lab_a, world.frontdesk, birth_name="Kergoat-Le Goff")
    patients.update_patient(world.lab_a, world.frontdesk, first.pk, {"phone": "0639980001"})
    patients.merge_patients(world.lab_a, world.biologist, first.pk, second.pk)
    adt = _messages(message_type__startswith="ADT")
    assert [m.message_type for m in adt] == ["ADT^A28", "ADT^A28", "ADT^A31", "ADT^A40"]
    for message in adt:
        validate(_er7(message))
        hl7.validate(_er7(message))
    merge = _er7(adt[-1])
    assert f"MRG|{second.pk}^^^ETANCHE^PI" in merge and f"PID|1||{first.pk}^" in merge


def test_a_destination_takes_only_its_kinds_and_other_labs_nothing(world, port):
    interop.add_destination("lis-pat", lab=world.lab_a, host="127.0.0.1", port=port,
                            messages="patients")
    patient = make_patient(world.lab_a, world.frontdesk)
    make_order(world.lab_a, world.frontdesk, patient)
    make_patient(world.lab_b, world.in_lab_b[Role.FRONTDESK])
    assert [m.message_type for m in _messages()] == ["ADT^A28"]


def test_a_destination_added_later_takes_the_next_change(world, port):
    # Nothing remembers "this lab has no destination": the next change sees a new one.
    first = make_patient(world.lab_a, world.frontdesk)
    make_order(world.lab_a, world.frontdesk, first)
    assert not _messages()
    interop.add_destination("lis-late", lab=world.lab_a, host="127.0.0.1", port=port,
                            messages="orders")
    order = make_order(world.lab_a, world.frontdesk, first)
    assert [(m.message_type, m.order_ref) for m in _messages()] == [("OML^O21", order.pk)]
    assert outbox.destinations_taking(world.lab_a, "patients") == []
    assert [d.name for d in outbox.destinations_taking(world.lab_a.pk, "orders")] == ["lis-late"]


def test_no_request_without_its_message(world, destination, monkeypatch):
    patient = make_patient(world.lab_a, world.frontdesk)
    before = Order.objects.count()

    def broken(*args, **kwargs):
        raise hl7.HL7Error("segment OBR invalid")

    monkeypatch.setattr(outbox.hl7, "order_message", broken)
    with pytest.raises(hl7.HL7Error):
        make_order(world.lab_a, world.frontdesk, patient)
    assert Order.objects.count() == before
    assert not _messages(message_type="OML^O21")


def test_no_message_without_its_request(world, destination):
    patient = make_patient(world.lab_a, world.frontdesk)
    with pytest.raises(ValidationError):
        make_order(world.lab_a, world.frontdesk, patient, tests=("NOPE",))
    assert not _messages(message_type="OML^O21")


def test_the_outbox_is_sealed_at_rest(world, destination):
    patient = make_patient(world.lab_a, world.frontdesk, birth_name="Quéméneur")
    make_order(world.lab_a, world.frontdesk, patient)
    with connection.cursor() as cursor:
        cursor.execute("SELECT sealed FROM interop_outboxmessage")
        blobs = b"".join(bytes(row[0]) for row in cursor.fetchall())
    assert blobs and "Quéméneur".encode() not in blobs and b"PID|" not in blobs


def test_sampling_sends_the_collection_time_as_an_oml_o21_xo(world, destination):
    patient = make_patient(world.lab_a, world.frontdesk)
    order = make_order(world.lab_a, world.frontdesk, patient)
    orders.record_sampling(world.lab_a, world.frontdesk, order)
    change = _messages(message_type="OML^O21")[-1]
    assert change.event == "XO"
    validate(_er7(change))
    spm = next(s for s in _er7(change).split("\r") if s.startswith("SPM"))
    assert spm.split("|")[17]  # SPM-17, the collection time


def test_an_unsolicited_status_update_moves_the_request(world, destination):
    patient = make_patient(world.lab_a, world.frontdesk)
    order = make_order(world.lab_a, world.frontdesk, patient)
    update = "\r".join([
        "MSH|^~\\&|LIS|PLATEAU|ETANCHE|LAB|20260101120000||OML^O21^OML_O21|LIS42|P|2.5",
        f"PID|1||{patient.pk}^^^ETANCHE^PI", f"ORC|SC|{order.number}^ETANCHE|||IP"])
    ack = inbound.answer(destination, update)
    assert "MSA|AA|LIS42" in ack
    assert progress.status_of(world.lab_a, [order.pk]) == {order.pk: FillerStatus.IN_PROGRESS}
    final = update.replace("|||IP", "|||CM").replace("LIS42", "LIS43")
    inbound.answer(destination, final)
    inbound.answer(destination, update.replace("LIS42", "LIS44"))  # late: never moves back
    assert progress.status_of(world.lab_a, [order.pk]) == {order.pk: FillerStatus.RESULTS}
    assert "MSA|AE" in inbound.answer(destination, "not hl7")


def test_a_past_request_s_nabm_act_outside_the_catalogue_is_sent_as_nabm(world, destination):
    # An imported request may name an act the catalogue lacks (catalogue.past_tests): its
    # code is still the NABM's, and it has no tube of its own.
    patient = make_patient(world.lab_a, world.frontdesk)
    orders.create_order(world.lab_a, world.frontdesk, patient, tests=["0467", "1104"],
                        prescriber_name="Dr Lefebvre", prescription_date="2024-01-05",
                        past=True)
    (message,) = _messages(message_type="OML^O21")
    hl7.validate(_er7(message))
    obrs = {s.split("|")[4].split("^")[0]: s for s in _er7(message).split("\r")
            if s.startswith("OBR")}
    assert set(obrs) == {"0467", "1104"}
    assert all(s.split("|")[4].split("^")[2] == "NABM" for s in obrs.values())
