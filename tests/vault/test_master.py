"""The master key: missing, wrong, corrupt, unsafe; never replaced over existing data."""

import os
import sqlite3

import pytest

from etanche.vault import keyring, master
from etanche.vault import services as vault
from etanche.vault.errors import (
    LabKeysCorrupt,
    MasterKeyCorrupt,
    MasterKeyInsecure,
    MasterKeyWrong,
    RefusedOverExistingData,
)
from etanche.vault.models import LabKeyset
from etanche.vault.providers.file import FileProvider
from tests.cli_helpers import run_etanche
from tests.vault.helpers import sqlite_cli_env

from .test_sealing import SYNTHETIC


@pytest.fixture
def key_file(tmp_path, settings):
    path = tmp_path / "keys" / "master.key"
    settings.ETANCHE_MASTER_KEY = f"file://{path}"
    master.forget()
    return path


def test_it_creates_a_private_key_file_on_first_provisioning(key_file, lab):
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert "aes" in key_file.read_text().lower()


def test_it_names_a_wrong_master_key_in_one_line(key_file, lab, tmp_path, settings):
    token = vault.seal(lab, "sealedapp.person", 1, SYNTHETIC)
    other = tmp_path / "other.key"
    FileProvider(f"file://{other}").create()
    settings.ETANCHE_MASTER_KEY = f"file://{other}"
    master.forget()
    keyring.forget()
    with pytest.raises(MasterKeyWrong) as error:
        vault.unseal(lab, "sealedapp.person", 1, token)
    message = str(error.value)
    assert "\n" not in message and "set ETANCHE_MASTER_KEY" in message


def test_it_refuses_to_create_a_new_key_over_existing_data(key_file, lab):
    os.unlink(key_file)
    master.forget()
    keyring.forget()
    with pytest.raises(RefusedOverExistingData) as error:
        master.ensure(create=True)
    assert "restore that key" in str(error.value)
    assert not key_file.exists()


def test_it_reports_a_corrupt_key_file(key_file, lab):
    key_file.write_text('{"primaryKeyId": 1, "key": [')
    master.forget()
    keyring.forget()
    with pytest.raises(MasterKeyCorrupt):
        vault.seal(lab, "sealedapp.person", 1, SYNTHETIC)


def test_it_refuses_a_key_file_readable_by_others(key_file, lab):
    key_file.chmod(0o640)
    master.forget()
    keyring.forget()
    with pytest.raises(MasterKeyInsecure) as error:
        vault.seal(lab, "sealedapp.person", 1, SYNTHETIC)
    assert "chmod 600" in str(error.value)


def test_it_tells_a_damaged_keyset_row_from_a_wrong_master_key(key_file, lab, other_lab):
    mine = LabKeyset.objects.get(lab=lab, kind="aead")
    theirs = LabKeyset.objects.get(lab=other_lab, kind="aead")
    LabKeyset.objects.filter(pk=mine.pk).update(wrapped=theirs.wrapped)
    keyring.forget()
    with pytest.raises(LabKeysCorrupt):
        vault.seal(lab, "sealedapp.person", 1, SYNTHETIC)


# --- through the real CLI -----------------------------------------------------


def _lab_via_cli(env):
    result = run_etanche("labs", "create", "cli-lab", "--name", "Labo CLI",
                         "--finess", "990000002", env=env)
    assert result.returncode == 0, result.stderr


def test_it_has_init_create_the_key_once_and_keep_it(tmp_path):
    env = sqlite_cli_env(tmp_path / "var")
    first = run_etanche("init", env=env)
    assert first.returncode == 0, first.stderr
    key = tmp_path / "var" / "master.key"
    assert key.stat().st_mode & 0o777 == 0o600
    before = key.read_bytes()
    second = run_etanche("init", env=env)
    assert "master key" in second.stdout and "kept" in second.stdout
    assert key.read_bytes() == before


def test_it_has_init_refuse_a_new_key_when_the_database_holds_keys(tmp_path):
    env = sqlite_cli_env(tmp_path / "var")
    assert run_etanche("init", env=env).returncode == 0
    _lab_via_cli(env)
    (tmp_path / "var" / "master.key").unlink()
    result = run_etanche("init", env=env)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "no new key is created over existing data" in result.stderr
    assert not (tmp_path / "var" / "master.key").exists()


def test_it_has_init_refuse_a_group_readable_key(tmp_path):
    env = sqlite_cli_env(tmp_path / "var")
    assert run_etanche("init", env=env).returncode == 0
    (tmp_path / "var" / "master.key").chmod(0o644)
    result = run_etanche("init", env=env)
    assert result.returncode != 0 and "chmod 600" in result.stderr
    assert "Traceback" not in result.stderr


def test_it_fails_keys_status_in_one_line_with_a_wrong_key(tmp_path):
    env = sqlite_cli_env(tmp_path / "var")
    assert run_etanche("init", env=env).returncode == 0
    _lab_via_cli(env)
    other = tmp_path / "other.key"
    FileProvider(f"file://{other}").create()
    result = run_etanche("keys", "status", env={**env, "ETANCHE_MASTER_KEY": f"file://{other}"})
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "is not the one this database's keys are wrapped with" in result.stderr


def test_it_stores_lab_keys_only_wrapped(tmp_path):
    env = sqlite_cli_env(tmp_path / "var")
    assert run_etanche("init", env=env).returncode == 0
    _lab_via_cli(env)
    with sqlite3.connect(tmp_path / "var" / "etanche.sqlite3") as db:
        rows = db.execute("select kind, version, kek_id, wrapped from vault_labkeyset").fetchall()
    assert {(k, v) for k, v, _, _ in rows} == {("aead", 1), ("prf", 1)}
    for _, _, kek_id, wrapped in rows:
        assert kek_id.startswith("file:")
        assert b"type.googleapis.com" not in wrapped  # Tink's cleartext keyset marker
