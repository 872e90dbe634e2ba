"""Settings come from the environment and fail fast when something is unsafe."""

import os

import pytest
from django.core.exceptions import ImproperlyConfigured

from etanche.lib import env as env_helpers
from tests.cli_helpers import clean_env, run_etanche


def test_it_refuses_to_start_without_a_secret_in_production(tmp_path):
    result = run_etanche("check", env=clean_env(tmp_path / "empty"))
    assert result.returncode == 2
    assert result.stderr.startswith("etanche: configuration error: no secret key")
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_it_starts_with_a_secret_from_a_file(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("f" * 64)
    env = clean_env(tmp_path / "var", ETANCHE_SECRET_KEY_FILE=str(secret))
    result = run_etanche("check", env=env)
    assert result.returncode == 0, result.stderr


def test_it_refuses_a_key_file_readable_by_others(tmp_path):
    data_dir = tmp_path / "var"
    env = clean_env(data_dir)
    assert run_etanche("init", env=env).returncode == 0
    os.chmod(data_dir / "secret_key", 0o644)
    result = run_etanche("check", env=env)
    assert result.returncode == 2
    assert "readable by group or others" in result.stderr


def test_it_refuses_debug_flag_typos(tmp_path):
    env = clean_env(tmp_path / "var", ETANCHE_DEBUG="maybe", ETANCHE_SECRET_KEY="s" * 64)
    result = run_etanche("check", env=env)
    assert result.returncode == 2
    assert "ETANCHE_DEBUG must be 0 or 1" in result.stderr


def test_debug_is_off_by_default(settings):
    assert settings.DEBUG is False


def test_env_secret_refuses_both_value_and_file(monkeypatch, tmp_path):
    monkeypatch.setenv("X_SECRET", "a")
    monkeypatch.setenv("X_SECRET_FILE", str(tmp_path / "f"))
    with pytest.raises(ImproperlyConfigured, match="not both"):
        env_helpers.env_secret("X_SECRET")


def test_env_secret_reports_an_unreadable_file(monkeypatch, tmp_path):
    monkeypatch.delenv("X_SECRET", raising=False)
    monkeypatch.setenv("X_SECRET_FILE", str(tmp_path / "missing"))
    with pytest.raises(ImproperlyConfigured, match="cannot read"):
        env_helpers.env_secret("X_SECRET")


def test_env_int_rejects_garbage(monkeypatch):
    monkeypatch.setenv("X_INT", "ten")
    with pytest.raises(ImproperlyConfigured, match="integer"):
        env_helpers.env_int("X_INT", 1)
