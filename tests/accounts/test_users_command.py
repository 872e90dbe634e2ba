"""`etanche users create|disable|list` and the refusal of `createsuperuser`."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from etanche.accounts.models import Membership, User
from tests.cli_helpers import clean_env, run_etanche

CREATE = ["users", "create", "lucie.moreau", "--lab", "lab-a", "--role", "frontdesk",
          "--name", "Lucie Moreau", "--email", "lucie.moreau@example.invalid"]


def _call(*args):
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_it_creates_a_named_account_with_a_membership(world):
    out = _call(*CREATE)
    user = User.objects.get(username="lucie.moreau")
    assert (user.first_name, user.last_name) == ("Lucie", "Moreau")
    assert Membership.objects.get(user=user).lab == world.lab_a
    assert "password: " not in out and "otpauth" not in out
    assert "/activation/?jeton=" in out.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"--name": "Lucie"}, "first and a last name"),
        ({"--email": "  "}, "required"),
        ({"--email": "not-an-email"}, "invalide"),
        ({"--lab": "nowhere"}, "no lab with slug 'nowhere'"),
        ({"username": "accueil"}, "Identifiant refusé"),
        ({"username": "admin"}, "Identifiant refusé"),
        ({"username": "labo-2"}, "Identifiant refusé"),
    ],
)
def test_it_refuses_bad_input_in_one_line(world, change, message):
    args = list(CREATE)
    for key, value in change.items():
        if key == "username":
            args[2] = value
        else:
            args[args.index(key) + 1] = value
    with pytest.raises(CommandError, match=message) as info:
        _call(*args)
    assert "\n" not in str(info.value)
    assert not User.objects.filter(username=args[2]).exists()


def test_it_refuses_a_duplicate(world):
    _call(*CREATE)
    with pytest.raises(CommandError, match="existe déjà"):
        _call(*CREATE)


def test_it_disables_and_lists(world):
    _call(*CREATE)
    assert "disabled: lucie.moreau" in _call("users", "disable", "lucie.moreau")
    assert not User.objects.get(username="lucie.moreau").is_active
    listing = _call("users", "list", "--lab", "lab-a")
    assert "lucie.moreau\tfrontdesk\tdisabled" in listing
    assert "julien.martin\tfrontdesk\tactive" in listing
    assert "paul.durand" not in listing
    with pytest.raises(CommandError, match="already disabled"):
        _call("users", "disable", "lucie.moreau")
    with pytest.raises(CommandError, match="no user"):
        _call("users", "disable", "nobody.here")


def test_createsuperuser_is_refused(db):
    with pytest.raises(CommandError, match="etanche users create"):
        _call("createsuperuser", "--noinput", "--username", "root", "--email", "r@x.invalid")
    with pytest.raises(RuntimeError):
        User.objects.create_superuser("root", "r@x.invalid", "x")
    assert not User.objects.exists()


def test_the_real_script_refuses_missing_name_and_email_without_traceback(tmp_path):
    env = clean_env(tmp_path / "var")
    # The child uses its own SQLite file, not the suite's database.
    env.pop("DATABASE_URL", None)
    assert run_etanche("init", env=env).returncode == 0
    missing_name = run_etanche("users", "create", "lucie.moreau", "--lab", "x", "--role",
                               "frontdesk", "--email", "l@example.invalid", env=env)
    assert missing_name.returncode != 0
    assert "--name" in missing_name.stderr and "Traceback" not in missing_name.stderr
    no_lab = run_etanche(*CREATE, env=env)
    assert no_lab.returncode == 1
    assert no_lab.stderr.strip().splitlines()[-1] == (
        "CommandError: no lab with slug 'lab-a' (see `etanche labs create`)")
    superuser = run_etanche("createsuperuser", "--noinput", env=env)
    assert superuser.returncode == 1
    assert "etanche users create" in superuser.stderr
