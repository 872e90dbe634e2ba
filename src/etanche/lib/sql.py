"""Several writes in one round trip to the database.

On a loaded two-core server each statement costs a round trip between the
worker and PostgreSQL, and those round trips, not the database's own work,
set the cost of a registration (bench/RESULTS.md). A transaction's last
inserts can travel together: PostgreSQL runs data-modifying statements given
in a WITH clause as part of the statement that follows. SQLite has no such
clause; there they run one after the other, in the same transaction, to the
same effect.

Django has no public API for the INSERT it would send for an instance, so
`insert_statement` asks its insert compiler (django.db.models.sql.InsertQuery,
stable since Django 1.x) instead of spelling the SQL by hand, with the same
pre_save handling (auto_now fields) as `save()`. Model signals do not fire:
only use it for models that have none.
"""

from django.db import connection
from django.db.models.sql import InsertQuery

Statement = tuple[str, list]


def insert_statement(objs) -> Statement:
    """The INSERT of these unsaved instances of one model, as bulk_create would send it."""
    objs = list(objs)
    model = type(objs[0])
    opts = model._meta
    fields = [f for f in opts.local_concrete_fields if not f.generated]
    if any(obj.pk is None for obj in objs):  # an auto-incremented key: the database chooses
        fields = [f for f in fields if f is not opts.pk]
    query = InsertQuery(model)
    query.insert_values(fields, objs)
    statements = query.get_compiler(connection=connection).as_sql()
    if len(statements) != 1:
        raise ValueError(f"{len(objs)} {opts.label} rows need {len(statements)} statements")
    sql, params = statements[0]
    return sql, list(params)


def together(writes: list[Statement], final: Statement | None = None) -> list:
    """Run `writes`, then `final`, in one round trip where the database allows it; returns
    the rows the last statement yields. The caller holds the transaction."""
    statements = [*writes, final] if final else list(writes)
    if not statements:
        return []
    *head, (last, last_params) = statements
    with connection.cursor() as cursor:
        if head and connection.vendor == "postgresql":
            prefix = ", ".join(f"w{i} AS ({text})" for i, (text, _) in enumerate(head))
            cursor.execute(f"WITH {prefix} {last}",
                           [p for _, params in head for p in params] + list(last_params))
        else:
            for text, params in head:
                cursor.execute(text, params)
            cursor.execute(last, last_params)
        return cursor.fetchall() if cursor.description else []
