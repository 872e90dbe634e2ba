"""The `etanche` console script."""

from tests.cli_helpers import clean_env, run_etanche


def test_help_lists_the_project_commands_one_line_each(tmp_path):
    result = run_etanche("--help", env=clean_env(tmp_path / "var"))
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines()[2:] if line.strip()}
    for command in ("init", "serve", "demo", "migrate", "shell"):
        assert command in lines
    assert "gunicorn" in lines["serve"]


def test_help_works_before_init_and_writes_nothing(tmp_path):
    data_dir = tmp_path / "var"
    assert run_etanche("--help", env=clean_env(data_dir)).returncode == 0
    assert not data_dir.exists()


def test_each_project_command_has_help(tmp_path):
    for command in ("init", "serve", "demo"):
        result = run_etanche(command, "--help", env=clean_env(tmp_path / "var"))
        assert result.returncode == 0, result.stderr
        assert f"usage: etanche {command}" in result.stdout


def test_it_runs_django_commands(tmp_path):
    env = clean_env(tmp_path / "var")
    assert run_etanche("init", env=env).returncode == 0
    result = run_etanche("shell", "-c", "print(6 * 7)", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "42"


def test_serve_refuses_an_uninitialised_database(tmp_path):
    env = clean_env(tmp_path / "var", ETANCHE_SECRET_KEY="s" * 64)
    result = run_etanche("serve", "--port", "8999", env=env)
    assert result.returncode == 2
    assert "etanche init" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_refuses_a_bad_port(tmp_path):
    env = clean_env(tmp_path / "var")
    run_etanche("init", env=env)
    result = run_etanche("serve", "--port", "70000", env=env)
    assert result.returncode == 1
    assert "--port must be between" in result.stderr


def test_demo_creates_the_lab_once(tmp_path):
    env = clean_env(tmp_path / "var")
    run_etanche("init", env=env)
    first = run_etanche("demo", "--if-absent", env=env)
    assert first.returncode == 0, first.stderr
    assert "demo lab: demo" in first.stdout
    credentials = tmp_path / "var" / "demo-credentials.txt"
    assert oct(credentials.stat().st_mode & 0o777) == "0o600"
    rows = [line.split("\t") for line in credentials.read_text().splitlines()
            if not line.startswith("#")]
    assert sorted(row[1] for row in rows) == [
        "auditor", "biologist", "dpo", "frontdesk", "labadmin"]
    assert all(row[3].startswith("otpauth://totp/") for row in rows)
    again = run_etanche("demo", "--if-absent", env=env)
    assert "already present" in again.stdout
    twice = run_etanche("demo", env=env)
    assert twice.returncode == 1
    assert "already exists" in twice.stderr
