"""AnyOf: the same rows as IN, with the values as one array parameter on PostgreSQL."""

import pytest
from django.db import connection
from django.db.models import F, Q
from django.test.utils import CaptureQueriesContext

from etanche.labs.models import Lab
from etanche.lib.lookups import AnyOf
from tests.personas import make_lab

pytestmark = pytest.mark.django_db


@pytest.fixture
def labs():
    return [make_lab(f"any-{i}") for i in range(3)]


def test_same_rows_as_in(labs):
    wanted = [labs[0].pk, labs[2].pk, 10**9]
    assert set(Lab.objects.filter(AnyOf(F("pk"), wanted))) == \
        set(Lab.objects.filter(pk__in=wanted)) == {labs[0], labs[2]}


def test_text_column_and_none_ignored(labs):
    found = Lab.objects.filter(AnyOf(F("slug"), ["any-1", None, "nobody"]))
    assert list(found) == [labs[1]]


def test_empty_list_matches_nothing_and_combines_in_q(labs):
    assert not Lab.objects.filter(AnyOf(F("pk"), [])).exists()
    either = Q(AnyOf(F("pk"), [])) | Q(AnyOf(F("slug"), ["any-0"]))
    assert list(Lab.objects.filter(either)) == [labs[0]]


def test_one_parameter_on_postgresql(labs):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite takes the ordinary IN")
    values = [lab.pk for lab in labs] + list(range(10**8, 10**8 + 1000))
    with CaptureQueriesContext(connection) as queries:
        assert Lab.objects.filter(AnyOf(F("pk"), values)).count() == 3
    sql = queries.captured_queries[-1]["sql"]
    assert "= ANY(" in sql and " IN (" not in sql


def test_integer_values_go_as_one_typed_array_and_others_are_prepared(labs):
    """Python ints skip the per-value preparation (the array takes the column's type); a
    value that is not exactly an int (a string of digits, a bool) is prepared as before."""
    assert set(Lab.objects.filter(AnyOf(F("pk"), [labs[1].pk, 2**40]))) == {labs[1]}
    assert set(Lab.objects.filter(AnyOf(F("pk"), [str(labs[0].pk), labs[2].pk]))) == \
        {labs[0], labs[2]}
    if connection.vendor == "postgresql":
        with CaptureQueriesContext(connection) as queries:
            list(Lab.objects.filter(AnyOf(F("pk"), [labs[0].pk])))
        assert "::bigint[]" in queries.captured_queries[-1]["sql"]
