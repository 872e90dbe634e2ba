"""Backups (issue 22, item 2): encrypted as written, checked, restored only into emptiness,
never holding the master key; a shredded lab's old backups stay unreadable."""

import pyrage
import pytest

from tests.cli_helpers import run_etanche
from tests.ops.backup_helpers import (
    HERE,
    backup_env,
    custodian,
    empty_instance,
    master_key_path,
    ok,
    populated,
    probe,
)


def _identity(path):
    return pyrage.x25519.Identity.from_str(path.read_text().splitlines()[-1])


def _create(env, recipient, out):
    result = ok(run_etanche("backup", "create", "--to", str(out), env=backup_env(env, recipient)))
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def installation(tmp_path_factory):
    """One populated installation and one backup of it, read by the tests below."""
    tmp_path = tmp_path_factory.mktemp("backup")
    recipient, identity = custodian(tmp_path, "backups")
    with populated(tmp_path, patients=5) as env:
        yield env, identity, _create(env, recipient, tmp_path / "backups"), tmp_path


def test_a_backup_is_encrypted_has_a_manifest_and_never_the_master_key(installation):
    env, identity, path, tmp_path = installation
    data = open(path, "rb").read()
    assert data.startswith(b"age-encryption.org/v1")
    plain = pyrage.decrypt(data, [_identity(identity)])
    assert plain.startswith(b"ETANCHE-BACKUP/1\n")
    assert master_key_path(env).read_bytes() not in plain
    assert b'"master_key_included": false' in plain
    assert b"database.sqlite3" in plain or b"database.pgdump" in plain
    assert b"secret_key" in plain

    quick = ok(run_etanche("backup", "verify", path, env=env))
    assert "backup ok" in quick.stdout and "content" in quick.stdout
    full = ok(run_etanche("backup", "verify", path, "--identity", str(identity), env=env))
    assert "migrations" in full.stdout and "backup ok" in full.stdout

    # No recipients configured: refused in one line.
    none = run_etanche("backup", "create", "--to", str(tmp_path / "b2"), env=env)
    assert none.returncode != 0 and "ETANCHE_BACKUP_RECIPIENTS" in none.stderr


def test_a_damaged_backup_fails_verification_and_restores_nothing(installation):
    env, identity, path, tmp_path = installation
    damaged = tmp_path / "damaged.age"
    data = bytearray(open(path, "rb").read())
    data[len(data) // 2] ^= 0x01
    damaged.write_bytes(bytes(data))
    (tmp_path / "damaged.age.sha256").write_text(
        open(path + ".sha256").read().replace(path.rsplit("/", 1)[-1], "damaged.age"))
    bad = run_etanche("backup", "verify", str(damaged), env=env)
    assert bad.returncode != 0 and ".sha256" in bad.stderr
    bad_full = run_etanche("backup", "verify", str(damaged), "--identity", str(identity),
                           env=env)
    assert bad_full.returncode != 0
    assert "Traceback" not in bad_full.stderr
    with empty_instance(tmp_path) as target:
        refused = run_etanche("backup", "restore", str(damaged), "--identity",
                              str(identity), env=target)
        assert refused.returncode != 0
        assert not (tmp_path / "restored" / "secret_key").exists()


def test_restore_is_refused_over_an_existing_installation(installation):
    env, identity, path, _ = installation
    refused = run_etanche("backup", "restore", path, "--identity", str(identity), env=env)
    assert refused.returncode != 0 and "not empty" in refused.stderr


def test_a_shredded_labs_data_in_an_old_backup_stays_unreadable(tmp_path):
    recipient, identity = custodian(tmp_path, "backups")
    with populated(tmp_path, patients=3) as env:
        ok(run_etanche("demo", "--lab", "closing", "--patients", "3", "--seed", "9", env=env,
                       timeout=300))
        before = _create(env, recipient, tmp_path / "backups")
        ok(run_etanche("labs", "shred", "closing", "--confirm", "closing", env=env))
        after = _create(env, recipient, tmp_path / "backups")
        current_key = master_key_path(env).read_bytes()

        # The old backup holds the lab's keysets, wrapped by a master key that the
        # shred destroyed: with the key that exists now, nothing in it opens.
        with empty_instance(tmp_path, "old") as old:
            master_key_path(old).parent.mkdir(mode=0o700)
            master_key_path(old).write_bytes(current_key)
            master_key_path(old).chmod(0o600)
            restored = run_etanche("backup", "restore", before, "--identity", str(identity),
                                   env=old)
            assert restored.returncode != 0
            assert "is not the one this database's keys are wrapped with" in (
                restored.stdout + restored.stderr)

        # The backup taken after the shred opens the other lab, and not the shredded one.
        with empty_instance(tmp_path, "new") as new:
            master_key_path(new).parent.mkdir(mode=0o700)
            master_key_path(new).write_bytes(current_key)
            master_key_path(new).chmod(0o600)
            restored = ok(run_etanche("backup", "restore", after, "--identity", str(identity),
                                      env=new))
            assert "installation ok" in restored.stdout
            assert "1 shredded lab(s) skipped" in restored.stdout
            assert probe(new)["opened"] == "3"
            code = f"exec(open({str(HERE / 'drill_probe.py')!r}).read())"
            unreadable = run_etanche("shell", "-c", code, env={**new, "PROBE_LAB": "closing"})
            assert unreadable.returncode != 0
            assert "shredded" in unreadable.stderr
