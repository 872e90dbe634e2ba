"""`etanche init` says where the master key is, and offers a place outside the data directory.

The review: the master key sits next to the database by default, so a copy of the
data directory (a backup, a disk image) opens every sealed record.
"""

import stat

from tests.cli_helpers import clean_env, run_etanche


def test_a_key_in_the_data_directory_is_said_with_the_way_out(tmp_path):
    data_dir = tmp_path / "var"
    result = run_etanche("init", env=clean_env(data_dir))
    assert result.returncode == 0, result.stderr
    assert "WARNING: the master key is in the data directory" in result.stderr
    assert f"mv {data_dir / 'master.key'} " in result.stderr
    assert "ETANCHE_MASTER_KEY=file:///" in result.stderr
    assert "etanche init --master-key file:///" in result.stderr


def test_it_creates_the_key_outside_the_data_directory_when_asked(tmp_path):
    data_dir, outside = tmp_path / "var", tmp_path / "keys" / "master.key"
    env = clean_env(data_dir)
    result = run_etanche("init", "--master-key", f"file://{outside}", env=env)
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(outside.stat().st_mode) == 0o600
    assert not (data_dir / "master.key").exists()
    assert "WARNING" not in result.stderr
    assert f"set ETANCHE_MASTER_KEY=file://{outside}" in result.stdout
    # Where it says: every later command finds the key through the variable.
    env["ETANCHE_MASTER_KEY"] = f"file://{outside}"
    created = run_etanche("labs", "create", "dehors", "--name", "Dehors", "--finess",
                          "990000002", env=env)
    assert created.returncode == 0, created.stderr
    again = run_etanche("init", env=env)
    assert again.returncode == 0, again.stderr
    assert "WARNING" not in again.stderr and "kept" in again.stdout


def test_a_key_already_elsewhere_is_not_replaced_by_another(tmp_path):
    data_dir, outside = tmp_path / "var", tmp_path / "keys" / "master.key"
    env = clean_env(data_dir)
    assert run_etanche("init", env=env).returncode == 0
    refused = run_etanche("init", "--master-key", f"file://{outside}", env=env)
    assert refused.returncode != 0
    assert "no new key is created over existing data" in refused.stderr
    assert not outside.exists()
