"""Birth and used names are stored in the INS writing (capitals, no accents), whatever was
typed, and an identity typed in lower case is the same identity as one typed in capitals
for search, duplicate detection and the blind indexes (issue 24, item 10)."""

from etanche.patients import services as patients
from etanche.patients.models import PatientIndex
from tests.patients.people import person


def test_names_are_stored_in_ins_capitals_whatever_was_typed(world):
    data = person(birth_name="le guérec", used_name="d’artagnan-kèrgoat ", phone="0639980301")
    pid = patients.register_patient(world.lab_a, world.frontdesk, data).id
    fields = patients.get_patient(world.lab_a, world.frontdesk, pid, "accueil").fields
    assert (fields["birth_name"], fields["used_name"]) == ("LE GUEREC", "D'ARTAGNAN-KERGOAT")
    assert fields["first_names"] == ["Anne", "Maëlle"]  # first names are kept as typed


def test_lower_case_identity_is_found_and_flagged_as_the_capitals_one(world):
    lower = person(birth_name="le guérec", used_name="le gall", phone="0639980302")
    pid = patients.register_patient(world.lab_a, world.frontdesk, lower).id
    for typed in ("LE GUEREC", "Le Guérec", "le guerec", "LE GALL"):
        found = patients.search(world.lab_a, world.frontdesk, name=typed,
                                birth_date="1984-03-02")
        assert [s.id for s in found.results] == [pid], typed
    capitals = person(birth_name="LE GUEREC", used_name="LE GALL", phone="0639980303",
                      serial=None)
    assert pid in [c.id for c in patients.find_duplicates(world.lab_a, capitals)]
    same_keys = person(birth_name="LE GUEREC", used_name="LE GALL", phone="0639980304",
                       serial=102, email="autre@example.org")
    other = patients.register_patient(world.lab_a, world.frontdesk, same_keys,
                                      not_duplicate=True).id
    # Both records hold the same blind surname values (birth and used name).
    surnames = {}
    for row in PatientIndex.objects.filter(patient_id__in=[pid, other],
                                           name=PatientIndex.SURNAME):
        surnames.setdefault(row.patient_id, set()).add(row.value)
    assert len(surnames[pid]) == 2 and surnames[pid] == surnames[other]
