"""`etanche labs shred` through the real CLI: keys gone, backups taken before unopenable."""

import shutil
import sqlite3

from tests.cli_helpers import run_etanche
from tests.vault.helpers import sqlite_cli_env


def test_it_shreds_a_lab_and_makes_older_backups_unopenable(tmp_path):
    var = tmp_path / "var"
    env = sqlite_cli_env(var)
    assert run_etanche("init", env=env).returncode == 0
    for slug, finess in (("closing", "990000002"), ("staying", "990000010")):
        made = run_etanche("labs", "create", slug, "--name", slug, "--finess", finess, env=env)
        assert made.returncode == 0, made.stderr
    backup = tmp_path / "backup.sqlite3"
    shutil.copy(var / "etanche.sqlite3", backup)

    refused = run_etanche("labs", "shred", "closing", "--confirm", "staying", env=env)
    assert refused.returncode != 0 and "Traceback" not in refused.stderr

    result = run_etanche("labs", "shred", "closing", "--confirm", "closing", env=env)
    assert result.returncode == 0, result.stderr
    assert "unrecoverable" in result.stdout and "take a new backup" in result.stdout
    assert not list(var.glob("master.key.*")), "the previous master key must be destroyed"
    with sqlite3.connect(var / "etanche.sqlite3") as db:
        kept = db.execute(
            "select l.slug from vault_labkeyset k join labs_lab l on l.id = k.lab_id"
        ).fetchall()
    assert set(kept) == {("staying",)}

    status = run_etanche("keys", "status", env=env)
    assert status.returncode == 0, status.stderr
    assert "lab closing: keys shredded" in status.stdout

    old = run_etanche("keys", "status", env={**env, "DATABASE_URL": f"sqlite:///{backup}"})
    assert old.returncode != 0 and "Traceback" not in old.stderr
    assert "is not the one this database's keys are wrapped with" in old.stderr
