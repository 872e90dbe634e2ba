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

The compiler rebuilds the statement's text value by value on every call, which
cost registration about a millisecond of Python (bench/RESULTS.md); the text
depends only on the model, its columns and the number of rows, so it is kept
per process. Values still go through the compiler's own `pre_save_val` and
`prepare_value`; an expression value or a field with its own placeholder takes
the compiler's full path.
"""

from django.db import connection
from django.db.models.sql import InsertQuery

Statement = tuple[str, list]


_TEXTS: dict[tuple, str] = {}


def insert_statement(objs) -> Statement:
    """The INSERT of these unsaved instances of one model: the columns and values
    bulk_create would send (several rows as one multi-row VALUES, where Django 5.2 on
    PostgreSQL sends arrays)."""
    objs = list(objs)
    model = type(objs[0])
    opts = model._meta
    fields = [f for f in opts.local_concrete_fields if not f.generated]
    if any(obj.pk is None for obj in objs):  # an auto-incremented key: the database chooses
        fields = [f for f in fields if f is not opts.pk]
    query = InsertQuery(model)
    query.insert_values(fields, objs)
    compiler = query.get_compiler(connection=connection)
    if not connection.features.has_bulk_insert or any(
            hasattr(f, "get_placeholder") for f in fields):
        return _compiled(compiler, opts, len(objs))
    params = [compiler.prepare_value(f, compiler.pre_save_val(f, obj))
              for obj in objs for f in fields]
    if any(hasattr(p, "as_sql") for p in params):
        return _compiled(compiler, opts, len(objs))
    key = (connection.vendor, opts.label, tuple(f.column for f in fields), len(objs))
    text = _TEXTS.get(key)
    if text is None:
        ops, qn = connection.ops, connection.ops.quote_name
        columns = ", ".join(qn(f.column) for f in fields)
        text = _TEXTS[key] = " ".join([
            f"{ops.insert_statement(on_conflict=None)} {qn(opts.db_table)} ({columns})",
            ops.bulk_insert_sql(fields, [["%s"] * len(fields)] * len(objs)),
        ])
    return text, params


def _compiled(compiler, opts, rows: int) -> Statement:
    statements = compiler.as_sql()
    if len(statements) != 1:
        raise ValueError(f"{rows} {opts.label} rows need {len(statements)} statements")
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
            bind = _binder(cursor)
            bound = [bind(text, params) for text, params in statements]
            prefix = ", ".join(f"w{i} AS ({text})" for i, text in enumerate(bound[:-1]))
            cursor.execute(f"WITH {prefix} {bound[-1]}")
        else:
            for text, params in head:
                cursor.execute(text, params)
            cursor.execute(last, last_params)
        return cursor.fetchall() if cursor.description else []


def _binder(cursor):
    """mogrify(text, params): the statement with its values as literals, quoted by psycopg
    as its client-side binding (Django's default) does when it sends a statement.

    Bound one by one, each statement's parsing is kept by psycopg, which keeps it only
    for statements of up to 50 parameters: bound as one, a registration's two combined
    statements (54 and 66 parameters) were parsed anew on every call, about half a
    millisecond of a registration's Python (bench/RESULTS.md, Run 7)."""
    raw = cursor.cursor
    if not hasattr(raw, "mogrify"):  # a server-side binding cursor has none
        import psycopg

        raw = psycopg.ClientCursor(raw.connection)
    return raw.mogrify
