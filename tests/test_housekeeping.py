"""`etanche serve` purges what is due and ships journal checkpoints by itself."""

import time

from tests.cli_helpers import clean_env, run_etanche
from tests.servers import running_server


def _wait_for(condition, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_the_server_sweeps_exports_and_ships_checkpoints(tmp_path):
    data_dir = tmp_path / "var"
    checkpoints = tmp_path / "elsewhere" / "checkpoints.jsonl"
    checkpoints.parent.mkdir()
    env = clean_env(
        data_dir,
        ETANCHE_HOUSEKEEPING_SECONDS="1",
        ETANCHE_CHECKPOINT_TARGET=f"file:{checkpoints}",
    )
    assert run_etanche("init", env=env).returncode == 0
    created = run_etanche("labs", "create", "hk", "--name", "Ménage", "--finess", "990000002",
                          env=env)
    assert created.returncode == 0, created.stderr
    stray = data_dir / "exports" / "left-behind.age.part"
    stray.parent.mkdir(mode=0o700, exist_ok=True)
    stray.write_bytes(b"age-encryption.org/v1 partial")

    with running_server(env):
        assert _wait_for(lambda: not stray.exists()), "the stray export file was not purged"
        assert _wait_for(lambda: checkpoints.exists() and checkpoints.read_text().strip())

    verified = run_etanche("journal", "verify", "--checkpoints", str(checkpoints), env=env)
    assert verified.returncode == 0, verified.stderr


def test_housekeeping_can_be_turned_off(tmp_path):
    data_dir = tmp_path / "var"
    env = clean_env(data_dir, ETANCHE_HOUSEKEEPING_SECONDS="0")
    assert run_etanche("init", env=env).returncode == 0
    stray = data_dir / "exports" / "left-behind.age.part"
    stray.parent.mkdir(mode=0o700, exist_ok=True)
    stray.write_bytes(b"partial")
    with running_server(env):
        time.sleep(2)
        assert stray.exists()
