"""`etanche journal verify|checkpoint|purge`, called as the CLI calls it."""

import pytest
from django.core.management import CommandError, call_command

from etanche.journal import services
from etanche.journal.models import Action, Chain, Entry


def _write(lab, n=3):
    for i in range(n):
        services.record(lab=lab, user=None, action=Action.READ, object_id=i)


def test_verify_passes_on_an_intact_journal(chain_lab, capsys):
    _write(chain_lab)
    count = Entry.objects.filter(chain__name=services.chain_name(chain_lab)).count()
    call_command("journal", "verify")
    out = capsys.readouterr().out
    assert f"ok   journal {services.chain_name(chain_lab)}: {count} entries" in out


def test_verify_names_the_first_bad_entry_and_exits_1(chain_lab, capsys):
    _write(chain_lab)
    chain = Chain.objects.get(name=services.chain_name(chain_lab))
    Entry.objects.filter(chain=chain, seq=2).delete()
    with pytest.raises(SystemExit) as exit_info:
        call_command("journal", "verify")
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert f"FAIL journal {chain.name}" in err
    assert "entry 2: missing (deleted)" in err


def test_verify_with_checkpoints_file(chain_lab, tmp_path, capsys):
    _write(chain_lab)
    target = tmp_path / "cp.jsonl"
    call_command("journal", "checkpoint", "--to", f"file:{target}")
    call_command("journal", "verify", "--checkpoints", str(target))
    assert "FAIL" not in capsys.readouterr().err


def test_verify_refuses_an_unknown_lab(db):
    with pytest.raises(CommandError, match="no lab with slug 'nope'"):
        call_command("journal", "verify", "--lab", "nope")


def test_checkpoint_refuses_an_unknown_target(chain_lab):
    _write(chain_lab)
    with pytest.raises(CommandError, match="unknown checkpoint target"):
        call_command("journal", "checkpoint", "--to", "ftp://x")


def test_purge_reports_nothing_to_do(chain_lab, capsys):
    _write(chain_lab)
    call_command("journal", "purge", "--days", "30")
    assert "nothing to purge" in capsys.readouterr().out


def test_purge_refuses_a_zero_retention(chain_lab):
    with pytest.raises(CommandError, match="at least one day"):
        call_command("journal", "purge", "--days", "0")
