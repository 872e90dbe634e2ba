"""`AnyOf(F("column"), values)`: a membership test whose values travel as one parameter.

A bulk lookup (a breach scan, an import's duplicate check) asks for a thousand blind-index
values at once. Written as `column__in=values`, Django and psycopg handle a thousand
placeholders: each value is prepared, bound and spliced into the text one by one, and the
statement differs with every batch size. On PostgreSQL `column = ANY(%s)` sends the list
as one array parameter: one placeholder, the same text for every batch, the same plan
(an index scan per value, as for IN). Elsewhere (SQLite) it is the ordinary IN.

A Lookup used as a filter expression (documented since Django 4.0), so no field class is
changed: `Patient.objects.filter(AnyOf(F("nir_index"), keys))`.
"""

from django.core.exceptions import EmptyResultSet
from django.db.models import Lookup
from django.db.models.lookups import In


class AnyOf(Lookup):
    lookup_name = "any_of"
    prepare_rhs = False

    def get_prep_lookup(self):
        # The column is still an unresolved F here: values are prepared in as_sql.
        return [value for value in self.rhs if value is not None]

    def as_sql(self, compiler, connection):
        return In(self.lhs, self.rhs).as_sql(compiler, connection)

    def as_postgresql(self, compiler, connection):
        if not self.rhs:
            raise EmptyResultSet  # as IN () does: the filter matches nothing
        lhs, lhs_params = self.process_lhs(compiler, connection)
        field = self.lhs.output_field
        if field.get_internal_type() in _INTEGER_TYPES and all(type(v) is int for v in self.rhs):
            # Blind-index values are Python ints already: preparing them one by one (each
            # wrapped in its column's integer type) was most of a 2,000-key lookup's compile
            # time (an import's duplicate check). The array takes the column's type at once.
            return f"{lhs} = ANY(%s::{field.db_type(connection)}[])", (*lhs_params,
                                                                       list(self.rhs))
        values = [field.get_db_prep_value(v, connection) for v in self.rhs]
        return f"{lhs} = ANY(%s)", (*lhs_params, values)


_INTEGER_TYPES = frozenset({"IntegerField", "BigIntegerField", "SmallIntegerField",
                            "PositiveIntegerField", "PositiveBigIntegerField",
                            "PositiveSmallIntegerField", "AutoField", "BigAutoField",
                            "SmallAutoField"})
