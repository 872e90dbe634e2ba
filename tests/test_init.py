"""`etanche init` is idempotent and never overwrites a key or a database."""

import sqlite3
import stat

from tests.cli_helpers import clean_env, run_etanche


def _mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_it_creates_data_dir_secret_key_and_database(tmp_path):
    data_dir = tmp_path / "var"
    result = run_etanche("init", env=clean_env(data_dir))
    assert result.returncode == 0, result.stderr
    assert _mode(data_dir) == 0o700
    assert _mode(data_dir / "secret_key") == 0o600
    assert len((data_dir / "secret_key").read_text().strip()) >= 50
    assert _mode(data_dir / "etanche.sqlite3") == 0o600
    with sqlite3.connect(data_dir / "etanche.sqlite3") as db:
        tables = {row[0] for row in db.execute("select name from sqlite_master")}
    assert "labs_lab" in tables and "accounts_user" in tables


def test_it_keeps_an_existing_key_and_database(tmp_path):
    data_dir = tmp_path / "var"
    env = clean_env(data_dir)
    assert run_etanche("init", env=env).returncode == 0
    key_before = (data_dir / "secret_key").read_text()
    with sqlite3.connect(data_dir / "etanche.sqlite3") as db:
        db.execute(
            "insert into labs_lab (slug, name, finess, created_at) "
            "values ('kept', 'Kept', '990000002', '2026-01-01')"
        )

    second = run_etanche("init", env=env)

    assert second.returncode == 0, second.stderr
    assert "kept" in second.stdout
    assert (data_dir / "secret_key").read_text() == key_before
    with sqlite3.connect(data_dir / "etanche.sqlite3") as db:
        assert db.execute("select slug from labs_lab").fetchall() == [("kept",)]


def test_it_writes_no_key_file_when_the_key_comes_from_the_environment(tmp_path):
    data_dir = tmp_path / "var"
    env = clean_env(data_dir, ETANCHE_SECRET_KEY="e" * 64)
    result = run_etanche("init", env=env)
    assert result.returncode == 0, result.stderr
    assert not (data_dir / "secret_key").exists()


def test_it_migrates_the_suites_database_and_runs_twice(tmp_path):
    """On the database the suite runs on (a throwaway PostgreSQL one under DATABASE_URL)."""
    from tests.db_helpers import fresh_instance

    with fresh_instance(tmp_path) as env:  # runs `etanche init` once
        master = (tmp_path / "var" / "master.key").read_bytes()
        again = run_etanche("init", env=env)
        assert again.returncode == 0, again.stderr
        assert (tmp_path / "var" / "master.key").read_bytes() == master
        vendor = "postgresql" if "DATABASE_URL" in env else "sqlite3"
        assert f"database: {vendor}, schema up to date" in again.stdout
