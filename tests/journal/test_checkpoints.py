import json

from django.conf import settings

from etanche.journal import checkpoints, services
from etanche.journal.models import Action, Chain, Entry, Registry
from etanche.journal.verify import verify
from etanche.lib.datadir import checkpoint_path
from etanche.ops import housekeeping
from tests.cli_helpers import clean_env, run_etanche


def _write(lab, n=3):
    for i in range(n):
        services.record(lab=lab, user=None, action=Action.READ, object_id=i)


def test_checkpoint_statements_check_out_on_an_intact_journal(chain_lab):
    _write(chain_lab)
    statements = checkpoints.make_checkpoints(chain_lab)
    assert len(statements) == 1
    lines = [json.dumps(s) for s in statements]
    assert checkpoints.check_statements(lines) == []
    assert verify(chain_lab)[0].problem is None


def test_a_rolled_back_database_contradicts_a_shipped_checkpoint(chain_lab):
    _write(chain_lab)
    chain = Chain.objects.get(name=services.chain_name(chain_lab))
    old_state = bytes(chain.state)
    old_head = Entry.objects.filter(chain=chain).order_by("-seq").first().seq
    old_registry = Registry.objects.values("body", "mac").get()
    lines = [json.dumps(s) for s in checkpoints.make_checkpoints(chain_lab)]
    _write(chain_lab, 2)

    # Roll back the whole journal, registry of chains included, to its earlier,
    # self-consistent state.
    Entry.objects.filter(chain=chain, seq__gt=old_head).delete()
    Chain.objects.filter(pk=chain.pk).update(state=old_state)
    Registry.objects.update(**old_registry)

    assert verify(chain_lab)[0].problem is None  # the database alone cannot tell
    [problem] = checkpoints.check_statements(lines)
    assert "is gone (database rolled back or truncated)" in problem


def test_a_forged_statement_is_rejected(chain_lab):
    _write(chain_lab)
    [statement] = checkpoints.make_checkpoints(chain_lab)
    statement["seq"] = statement["seq"] + 1
    [problem] = checkpoints.check_statements([json.dumps(statement)])
    assert "signature invalid" in problem


def test_checkpoints_are_appended_to_a_private_file(chain_lab, tmp_path):
    _write(chain_lab)
    target = tmp_path / "checkpoints.jsonl"
    checkpoints.ship(checkpoints.make_checkpoints(chain_lab), f"file:{target}")
    checkpoints.ship(checkpoints.make_checkpoints(chain_lab), f"file:{target}")
    assert oct(target.stat().st_mode & 0o777) == "0o600"
    lines = target.read_text().splitlines()
    assert len(lines) == 2
    assert checkpoints.check_statements(lines) == []


def test_checkpoints_go_to_syslog_over_udp(chain_lab):
    import socket

    _write(chain_lab)
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(5)
    port = receiver.getsockname()[1]
    try:
        checkpoints.ship(checkpoints.make_checkpoints(chain_lab), f"syslog:127.0.0.1:{port}")
        message = receiver.recv(65536).decode()
    finally:
        receiver.close()
    assert "etanche-checkpoint" in message
    assert checkpoints.check_statements([message.split("etanche-checkpoint ", 1)[1]]) == []


def test_checkpoints_go_by_default_to_a_file_beside_the_data_directory(tmp_path):
    """No configuration: `etanche journal checkpoint` (and `etanche serve`'s housekeeping,
    which runs it with the same target) writes outside the data directory, and
    `etanche journal verify` reads that file without being told."""
    data_dir = tmp_path / "var"
    env = clean_env(data_dir)
    assert run_etanche("init", env=env).returncode == 0
    created = run_etanche("labs", "create", "cp", "--name", "Contrôle", "--finess", "990000002",
                          env=env)
    assert created.returncode == 0, created.stderr
    shipped = run_etanche("journal", "checkpoint", env=env)
    assert shipped.returncode == 0, shipped.stderr
    target = tmp_path / "var-checkpoints" / "journal-checkpoints.jsonl"
    assert f"shipped to file:{target}" in shipped.stdout
    assert data_dir not in target.parents
    assert oct(target.parent.stat().st_mode & 0o777) == "0o700"
    verified = run_etanche("journal", "verify", env=env)
    assert verified.returncode == 0, verified.stderr
    assert f"ok   checkpoints of {target}" in verified.stdout


def test_serve_plans_the_checkpoint_job_by_default():
    target = f"file:{checkpoint_path(settings.DATA_DIR)}"
    assert ("journal checkpoint", housekeeping._command("journal", "checkpoint", "--to", target)) \
        in housekeeping.jobs(target)
    assert settings.DATA_DIR not in checkpoint_path(settings.DATA_DIR).parents
