"""`etanche labs create --expected-patients` and `keys status` through the real CLI."""

import pytest

from etanche.ops.labs import LabError, create_lab
from etanche.vault import indexes
from etanche.vault import services as vault
from tests.cli_helpers import run_etanche
from tests.vault.helpers import sqlite_cli_env

BAD = ["999", "100000001", "abc", "-5", "1e6", "12.5", ""]


def test_it_creates_labs_sized_as_declared_and_shows_the_sizes(tmp_path):
    env = sqlite_cli_env(tmp_path / "var")
    assert run_etanche("init", env=env).returncode == 0
    made = run_etanche("labs", "create", "grand", "--name", "Grand", "--finess", "990000002",
                       "--expected-patients", "2000000", env=env)
    assert made.returncode == 0, made.stderr
    assert "2,000,000 patients" in made.stdout and "nir 19" in made.stdout
    default = run_etanche("labs", "create", "moyen", "--name", "Moyen", "--finess", "990000010",
                          env=env)
    assert default.returncode == 0, default.stderr
    status = run_etanche("keys", "status", env=env)
    assert status.returncode == 0, status.stderr
    lines = status.stdout.splitlines()
    grand = lines[[i for i, line in enumerate(lines) if line.startswith("lab grand:")][0] + 1]
    moyen = lines[[i for i, line in enumerate(lines) if line.startswith("lab moyen:")][0] + 1]
    assert "expected 2,000,000 patients" in grand
    assert "nir 19" in grand and "surname 12" in grand
    assert "expected 100,000 patients" in moyen and "nir 15" in moyen


@pytest.mark.parametrize("bad", BAD)
def test_it_refuses_a_bad_expected_size_with_one_line_and_creates_nothing(tmp_path, bad):
    env = sqlite_cli_env(tmp_path / "var")
    assert run_etanche("init", env=env).returncode == 0
    refused = run_etanche("labs", "create", "x", "--name", "X", "--finess", "990000002",
                          f"--expected-patients={bad}", env=env)
    assert refused.returncode != 0
    assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert "Traceback" not in refused.stderr
    assert "expected" in refused.stderr
    listed = run_etanche("labs", "list", env=env)
    assert listed.stdout.strip() == ""


@pytest.mark.parametrize("bad", [999, 100_000_001, 0, "many", 2.5, True])
def test_it_refuses_a_bad_expected_size_in_the_service(db, bad):
    with pytest.raises(LabError):
        create_lab("x", "X", "990000002", expected_patients=bad)


@pytest.mark.parametrize(("given", "records"), [("1000", 1_000), ("100,000,000", 100_000_000),
                                            ("250_000", 250_000)])
def test_it_accepts_the_bounds_and_written_thousands(db, given, records):
    lab = create_lab("x", "X", "990000002", expected_patients=given)
    assert vault.index_sizes(lab) == (records, indexes.plan(records))
