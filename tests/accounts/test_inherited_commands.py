"""Django's and django-otp's commands that write accounts are shadowed by refusals.

Every command `etanche` inherits is reviewed here: a new dependency or Django
upgrade that brings a new command fails `test_it_reviewed_every_inherited_command`.
"""

import pytest
from django.contrib.auth.hashers import make_password
from django.core.management import CommandError, call_command, get_commands

from etanche.accounts import services
from tests.cli_helpers import clean_env, run_etanche

# Commands that would create, alter or erase accounts without the journal: refused.
SHADOWED = {
    "changepassword": "etanche users reset-password",
    "addstatictoken": "etanche users reset-mfa",
    "createsuperuser": "etanche users create",
    "loaddata": "etanche users create",
    "flush": "etanche users disable",
    "db_worker": "etanche worker",
}
# Inherited and kept: they write no account. `shell` and `dbshell` give the OS
# account that runs Étanche what it already has (the data directory and its
# keys); docs/accounts.md says so.
KEPT = {
    "check", "clearsessions", "collectstatic", "compilemessages", "createcachetable",
    "dbshell", "diffsettings", "dumpdata", "findstatic", "inspectdb", "makemessages",
    "makemigrations", "migrate", "optimizemigration", "remove_stale_contenttypes",
    "runserver", "sendtestemail", "shell", "showmigrations", "sqlflush", "sqlmigrate",
    "sqlsequencereset", "squashmigrations", "startapp", "startproject", "test", "testserver",
    # django-tasks-db: deletes finished task rows (no personal data in them), nothing else.
    "prune_db_task_results",
}


def test_it_reviewed_every_inherited_command():
    inherited = {name for name, app in get_commands().items() if not app.startswith("etanche")}
    assert inherited <= KEPT, f"review these commands in {__file__}: {inherited - KEPT}"
    for name in SHADOWED:
        assert get_commands()[name] == "etanche.ops", name


@pytest.mark.parametrize(("args", "pointer"), [
    (["changepassword", "julien.martin"], "etanche users reset-password USERNAME"),
    (["addstatictoken", "julien.martin", "-t", "abcd1234"], "etanche users reset-mfa USERNAME"),
])
def test_it_refuses_and_changes_nothing(world, args, pointer):
    user = world.frontdesk
    user.password = make_password("Un-mot-de-passe-long-1")
    user.save()
    before = user.password
    with pytest.raises(CommandError, match=pointer) as info:
        call_command(*args)
    assert "\n" not in str(info.value)
    user.refresh_from_db()
    assert user.password == before
    assert services.recovery_codes_left(user) == 0


def test_it_refuses_each_in_one_line_from_the_real_script_and_lists_every_command(tmp_path):
    env = clean_env(tmp_path / "var")
    env.pop("DATABASE_URL", None)  # the child uses its own SQLite file
    overview = run_etanche("--help", env=env)
    assert overview.returncode == 0
    lines = overview.stdout.splitlines()[2:]
    listed = {line.split()[0]: line.split(None, 1)[1:] for line in lines if line.strip()}
    assert set(listed) == set(get_commands())
    assert all(summary and summary[0].strip() for summary in listed.values()), listed

    assert run_etanche("init", env=env).returncode == 0
    for name, pointer in SHADOWED.items():
        refused = run_etanche(name, "someone", "--no-input" if name == "flush" else "-v1",
                              env=env)
        assert refused.returncode == 1, (name, refused.stderr)
        assert refused.stderr.strip().count("\n") == 0, refused.stderr
        assert pointer in refused.stderr and "Traceback" not in refused.stderr, name
        helped = run_etanche(name, "--help", env=env)
        assert helped.returncode == 0 and "usage: etanche" in helped.stdout, name
