import json

from etanche.journal import checkpoints, services
from etanche.journal.models import Action, Chain, Entry


def _write(lab, n=3):
    for i in range(n):
        services.record(lab=lab, user=None, action=Action.READ, object_id=i)


def test_checkpoint_statements_check_out_on_an_intact_journal(chain_lab):
    _write(chain_lab)
    statements = checkpoints.make_checkpoints(chain_lab)
    assert len(statements) == 1
    lines = [json.dumps(s) for s in statements]
    assert checkpoints.check_statements(lines) == []
    assert services.verify(chain_lab)[0].problem is None


def test_a_rolled_back_database_contradicts_a_shipped_checkpoint(chain_lab):
    _write(chain_lab)
    chain = Chain.objects.get(name=services.chain_name(chain_lab))
    old_state = bytes(chain.state)
    old_head = Entry.objects.filter(chain=chain).order_by("-seq").first().seq
    lines = [json.dumps(s) for s in checkpoints.make_checkpoints(chain_lab)]
    _write(chain_lab, 2)

    # Roll back the whole journal to its earlier, self-consistent state.
    Entry.objects.filter(chain=chain, seq__gt=old_head).delete()
    Chain.objects.filter(pk=chain.pk).update(state=old_state)

    assert services.verify(chain_lab)[0].problem is None  # the chain alone cannot tell
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
