"""PostgreSQL binds parameters on the server and prepares the statements a process repeats."""

import json

import pytest
from django.db import connection

from etanche.labs.models import Lab
from tests.cli_helpers import clean_env, run_etanche

PG_URL = "postgres://postgres@127.0.0.1:5432/unused"  # parsed only: nothing connects to it
SHOW_OPTIONS = ("import json; from django.conf import settings; "
                "print(json.dumps(settings.DATABASES['default']['OPTIONS']))")


def _options(tmp_path, **extra):
    env = clean_env(tmp_path / "var", DATABASE_URL=PG_URL, ETANCHE_SECRET_KEY="s" * 64, **extra)
    result = run_etanche("shell", "-c", SHOW_OPTIONS, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_postgresql_binds_on_the_server_and_prepares_by_default(tmp_path):
    options = _options(tmp_path)
    assert options["server_side_binding"] is True
    assert options["prepare_threshold"] == 5


def test_prepared_statements_can_be_turned_off_for_a_pooler(tmp_path):
    options = _options(tmp_path, ETANCHE_DB_PREPARED="0")
    assert options["server_side_binding"] is True
    assert options["prepare_threshold"] is None


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's prepared statements")
@pytest.mark.django_db
def test_a_query_repeated_on_a_connection_is_prepared_there():
    for _ in range(6):
        list(Lab.objects.filter(slug="no-such-lab"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        statements = [row[0] for row in cursor.fetchall()]
    # Bound by the server: the value travels apart from the text ($1), never inlined.
    assert any('FROM "labs_lab"' in s and '"slug" = $1' in s for s in statements), statements
