"""Erasing or rolling back a chain with write access to the database, without the keys.

Issue 16, item 2: deleting a lab's journal_entry rows and its journal_chain row
made `etanche journal verify` exit 0 with one chain fewer, and a chain's head
written back to an older copy verified too. The sealed registry of chains
(journal/registry.py) and the signed checkpoints shipped outside the data
directory now name each of these.
"""

import json

import pytest
from django.core.management import call_command

from etanche.journal import checkpoints, services
from etanche.journal.models import Action, Chain, Entry, Registry
from etanche.journal.verify import verify


def _write(lab, n=3):
    for i in range(n):
        services.record(lab=lab, user=None, action=Action.SEARCH, object_id=i)


def _chain(lab):
    return Chain.objects.get(name=services.chain_name(lab))


def _verify_fails(capsys, *args) -> str:
    with pytest.raises(SystemExit) as exit_info:
        call_command("journal", "verify", *args)
    assert exit_info.value.code == 1
    return capsys.readouterr().err


def _erase(lab):
    """The attack: the lab's entries and its chain row go, nothing else is touched."""
    chain = _chain(lab)
    Entry.objects.filter(chain=chain).delete()
    Chain.objects.filter(pk=chain.pk).delete()
    return chain.name


def _problems(lab=None):
    return [str(r.problem) for r in verify(lab) if r.problem]


# --- a chain erased ---------------------------------------------------------------------

def test_an_erased_labs_chain_is_named_by_verify(make_lab, capsys):
    kept, erased = make_lab(), make_lab()
    _write(kept)
    _write(erased)
    name = _erase(erased)
    err = _verify_fails(capsys)
    assert f"FAIL journal {name} (lab {erased.pk}): chain: missing" in err
    assert f"journal {services.chain_name(kept)}" not in err


def test_the_next_action_after_an_erasure_does_not_hide_it(make_lab, capsys):
    lab = make_lab()
    _write(lab)
    name = _erase(lab)
    _write(lab, 1)  # a new chain starts, as the front office keeps working
    err = _verify_fails(capsys)
    assert f"FAIL journal {name} (lab {lab.pk}): chain: restarted" in err
    # ... and keeps saying so after more work.
    _write(lab, 2)
    assert any("restarted" in p for p in _problems(lab))


def test_an_erased_system_chain_is_named_too(db, capsys):
    _write(None)
    _erase(None)
    assert "FAIL journal system (system): chain: missing" in _verify_fails(capsys)


# --- a head written back ----------------------------------------------------------------

def _roll_back(lab, *, with_registry):
    """Copy the chain's head (and maybe the registry), work, then write the copy back."""
    chain = _chain(lab)
    old_state = bytes(chain.state)
    old_head = Entry.objects.filter(chain=chain).order_by("-seq").first().seq
    registry = Registry.objects.get()
    old_registry = (registry.body, bytes(registry.mac))
    yield old_head
    Entry.objects.filter(chain=chain, seq__gt=old_head).delete()
    Chain.objects.filter(pk=chain.pk).update(state=old_state)
    if with_registry:
        Registry.objects.filter(pk=registry.pk).update(body=old_registry[0], mac=old_registry[1])
    yield


def test_a_head_written_back_is_caught_by_the_registry(chain_lab, capsys):
    _write(chain_lab)
    attack = _roll_back(chain_lab, with_registry=False)
    next(attack)
    _write(chain_lab, 4)  # searches the attacker wants gone
    next(attack, None)
    [problem] = _problems(chain_lab)
    assert "head rolled back" in problem
    assert f"FAIL journal {services.chain_name(chain_lab)}" in _verify_fails(capsys)


def test_a_registry_written_back_too_is_caught_by_the_other_chains(make_lab):
    lab, other = make_lab(), make_lab()
    _write(lab)
    attack = _roll_back(lab, with_registry=True)
    next(attack)
    _write(lab, 4)
    _write(other, 1)  # the instance went on living meanwhile
    next(attack, None)
    assert any("head" in p for p in _problems())


def test_a_whole_journal_rollback_is_caught_by_the_default_checkpoint_file(chain_lab, capsys):
    _write(chain_lab)
    attack = _roll_back(chain_lab, with_registry=True)
    next(attack)
    call_command("journal", "checkpoint")  # shipped to the default target
    _write(chain_lab, 4)
    next(attack, None)
    assert _problems(chain_lab) == []  # inside the database, a consistent older state
    err = _verify_fails(capsys)  # no --checkpoints: the default file is read
    assert "head rolled back" in err and "older than the checkpoint" in err


# --- the registry itself ------------------------------------------------------------------

def test_a_deleted_registry_is_reported(chain_lab, capsys):
    _write(chain_lab)
    Registry.objects.all().delete()
    assert "registry of chains is missing" in _verify_fails(capsys)
    _write(chain_lab, 1)  # the next append does not make it go away
    assert "registry of chains was missing" in _verify_fails(capsys)


def test_an_altered_registry_is_reported(chain_lab, capsys):
    _write(chain_lab)
    registry = Registry.objects.get()
    body = json.loads(registry.body)
    body["chains"].clear()
    Registry.objects.filter(pk=registry.pk).update(body=json.dumps(body))
    assert "registry of chains altered" in _verify_fails(capsys)
    _write(chain_lab, 1)
    assert "registry of chains was altered" in _verify_fails(capsys)


def test_the_registry_holds_no_key_and_verifies_on_an_intact_journal(make_lab, capsys):
    for lab in (None, make_lab(), make_lab()):
        _write(lab)
    assert _problems() == []
    call_command("journal", "verify")
    assert "FAIL" not in capsys.readouterr().err
    assert b"key" not in bytes(Registry.objects.get().mac)


# --- what the checkpoints add ---------------------------------------------------------------

def test_a_checkpoint_names_a_chain_restarted_after_it(chain_lab):
    _write(chain_lab)
    lines = [json.dumps(s) for s in checkpoints.make_checkpoints(chain_lab)]
    _erase(chain_lab)
    Registry.objects.all().delete()  # the registry goes too: the checkpoint still knows
    _write(chain_lab, 30)
    [problem] = checkpoints.check_statements(lines)
    assert "restarted after the checkpoint" in problem
