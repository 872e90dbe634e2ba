"""The review list of imported likely duplicates: masked, journaled, the flag cleared once."""

from django.urls import reverse

from etanche.imports import review
from etanche.imports.models import ImportedRecord
from etanche.journal.models import Entry
from etanche.patients import bulk
from etanche.synthetic.people import envelope_of, iter_identities
from tests.imports.helpers import other_rows, write_other_csv
from tests.imports.test_patients import run
from tests.personas import sign_in


def _flagged_import(world, tmp_path):
    rows = list(other_rows(6))
    twin = list(rows[0])
    twin[0] = "P999999"  # another id, the same NIR
    rows.append(twin)
    people = list(iter_identities(6, 7))
    existing = bulk.insert_batch(world.lab_a, None, [envelope_of(people[3])], "test")[0]
    run(world, write_other_csv(tmp_path / "f.csv", rows))
    return people, existing


def test_the_review_page_lists_flagged_imports_masked_and_clears_one(world, client, tmp_path):
    people, existing = _flagged_import(world, tmp_path)
    sign_in(client, world.labadmin, sudo=True)
    page = client.get(reverse("import_review"))
    html = page.content.decode()
    assert page.status_code == 200 and "2 dossiers signalés" in html
    assert "même NIR" in html and reverse("patient_detail", args=[existing]) in html
    assert f"{people[3].birth_name[:1].upper()}." in html and people[3].ins[-2:] in html
    for person in (people[0], people[3]):  # masked: no name, no NIR, no birth date in full
        assert person.birth_name.upper() not in html.upper() and person.ins not in html
        assert person.birth_date.strftime("%d/%m/%Y") not in html
    read = Entry.objects.filter(lab_id=world.lab_a.pk, object_type=review.OBJECT_TYPE,
                                action="read")
    assert read.count() == 1

    flag = ImportedRecord.objects.for_lab(world.lab_a).get(review=True, review_of=existing)
    response = client.post(reverse("import_review"), {"record": flag.pk})
    assert response.status_code == 302
    flag.refresh_from_db()
    assert not flag.review and flag.review_rule == "nir"  # the rule stays, for the record
    assert Entry.objects.filter(lab_id=world.lab_a.pk, object_type=review.OBJECT_TYPE,
                                action="update", object_id=str(flag.pk)).count() == 1
    again = client.post(reverse("import_review"), {"record": flag.pk}, follow=True)
    assert "déjà été levé" in again.content.decode()
    assert "1 dossier signalé" in client.get(reverse("import_review")).content.decode()


def test_another_labs_flags_are_not_listed_nor_cleared(world, client, tmp_path):
    _flagged_import(world, tmp_path)
    flags, total = review.flagged(world.lab_b, world.outsider_admin)
    assert (flags, total) == ([], 0)
    flag = ImportedRecord.objects.for_lab(world.lab_a).filter(review=True).first()
    try:
        review.clear(world.lab_b, world.outsider_admin, flag.pk)
    except review.ReviewNotFound:
        pass
    else:
        raise AssertionError("another lab cleared the flag")
    flag.refresh_from_db()
    assert flag.review
