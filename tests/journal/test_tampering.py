"""Every kind of tampering with the stored journal is detected, naming the first bad entry."""

import pytest

from etanche.journal import services
from etanche.journal import verify as verify_module
from etanche.journal.models import Action, Chain, Entry
from etanche.journal.verify import verify


def _existing(lab):
    return Entry.objects.filter(chain__name=services.chain_name(lab)).count()


def _journal(lab, n=6):
    for i in range(n):
        services.record(lab=lab, user=None, action=Action.READ, object_type="patient", object_id=i)
    return Chain.objects.get(name=services.chain_name(lab))


def _problem(lab):
    [report] = verify(lab)
    return report.problem


def test_an_intact_journal_verifies(chain_lab):
    before = _existing(chain_lab) or 1  # the start marker comes with the first entry
    _journal(chain_lab)
    [report] = verify(chain_lab)
    assert report.problem is None
    assert report.entries == before + 6


def test_it_detects_a_changed_entry(chain_lab):
    chain = _journal(chain_lab)
    Entry.objects.filter(chain=chain, seq=3).update(object_id="999")
    problem = _problem(chain_lab)
    assert (problem.seq, problem.reason) == (3, "content or position altered (MAC mismatch)")


def test_it_detects_a_changed_timestamp(chain_lab):
    chain = _journal(chain_lab)
    entry = Entry.objects.get(chain=chain, seq=2)
    Entry.objects.filter(pk=entry.pk).update(at_us=entry.at_us - 86_400_000_000)
    assert _problem(chain_lab).seq == 2


def test_it_detects_a_deleted_entry(chain_lab):
    chain = _journal(chain_lab)
    Entry.objects.filter(chain=chain, seq=4).delete()
    problem = _problem(chain_lab)
    assert problem.seq == 4
    assert "missing (deleted)" in problem.reason


def test_it_detects_an_inserted_entry(chain_lab):
    chain = _journal(chain_lab)
    # Make room after entry 2, then insert a copy of a plausible entry.
    head = Entry.objects.filter(chain=chain).order_by("-seq").first().seq
    for seq in range(head, 2, -1):
        Entry.objects.filter(chain=chain, seq=seq).update(seq=seq + 1)
    model = Entry.objects.get(chain=chain, seq=2)
    model.pk, model.seq, model.object_id = None, 3, "4242"
    model.save()
    assert _problem(chain_lab).seq == 3


def test_it_detects_a_replayed_entry(chain_lab):
    chain = _journal(chain_lab)
    # Re-append entry 2, unchanged, after the head.
    head = Entry.objects.filter(chain=chain).order_by("-seq").first().seq
    replay = Entry.objects.get(chain=chain, seq=2)
    replay.pk, replay.seq = None, head + 1
    replay.save()
    problem = _problem(chain_lab)
    assert problem.seq == head + 1


def test_it_detects_reordered_entries(chain_lab):
    chain = _journal(chain_lab)
    Entry.objects.filter(chain=chain, seq=2).update(seq=-1)
    Entry.objects.filter(chain=chain, seq=3).update(seq=2)
    Entry.objects.filter(chain=chain, seq=-1).update(seq=3)
    assert _problem(chain_lab).seq == 2


def test_it_detects_a_truncated_tail(chain_lab):
    chain = _journal(chain_lab)
    Entry.objects.filter(chain=chain, seq__gte=5).delete()
    problem = _problem(chain_lab)
    assert problem.seq == 5
    assert "tail truncated" in problem.reason


def test_it_detects_a_cut_head(chain_lab):
    chain = _journal(chain_lab)
    Entry.objects.filter(chain=chain, seq__lte=2).delete()
    problem = _problem(chain_lab)
    assert problem.seq == 0
    assert "missing" in problem.reason


def test_it_detects_an_emptied_chain(chain_lab):
    chain = _journal(chain_lab)
    Entry.objects.filter(chain=chain).delete()
    assert "emptied" in _problem(chain_lab).reason


def test_it_detects_a_replaced_head_state(chain_lab):
    chain = _journal(chain_lab)
    state = bytes(chain.state)
    # Flip a bit of the tag: setting the last byte to 0 left it unchanged 1 time in 256.
    Chain.objects.filter(pk=chain.pk).update(state=state[:-1] + bytes([state[-1] ^ 1]))
    assert "head state cannot be opened" in _problem(chain_lab).reason


def test_it_detects_an_anchor_moved_to_another_entry(chain_lab):
    chain = _journal(chain_lab)
    anchor = Entry.objects.get(chain=chain, seq=0).anchor
    Entry.objects.filter(chain=chain, seq__lte=1).delete()
    Entry.objects.filter(chain=chain, seq=2).update(anchor=anchor)
    # The head says verification starts at 0: the cut is found before the anchor.
    assert _problem(chain_lab).seq == 0


def test_problem_text_names_the_lab_and_entry(chain_lab):
    chain = _journal(chain_lab)
    Entry.objects.filter(chain=chain, seq=3).update(action=Action.SEARCH)
    text = str(_problem(chain_lab))
    assert f"journal {chain.name}" in text
    assert "entry 3" in text


@pytest.mark.parametrize("count", [1, 50])
def test_verify_counts_every_entry(chain_lab, count):
    before = _existing(chain_lab) or 1
    _journal(chain_lab, n=count)
    [report] = verify(chain_lab)
    assert report.entries == before + count


def test_texts_that_need_escaping_verify_and_their_change_is_seen(chain_lab):
    # COPY's text format escapes these, JSON escapes the accent: the canonical form must not.
    services.record(lab=chain_lab, user=None, action=Action.READ, object_type="patient",
                    object_id="a\\b", purpose="ligne 1\nligne 2\tfin \\ é",
                    detail={"motif": "contrôle \"qualité\" \\ ok"})
    chain = Chain.objects.get(name=services.chain_name(chain_lab))
    assert _problem(chain_lab) is None
    seq = Entry.objects.filter(chain=chain, object_id="a\\b").get().seq
    Entry.objects.filter(chain=chain, seq=seq).update(purpose="ligne 1\nligne 2\tfin \\ e")
    assert _problem(chain_lab).seq == seq


@pytest.mark.parametrize("bad", [None, 13])
def test_batches_join_into_one_chain(chain_lab, monkeypatch, bad):
    # Entries are read and MACed in batches: a link across two batches is checked like any.
    monkeypatch.setattr(verify_module, "BATCH", 4)
    chain = _journal(chain_lab, n=20)
    if bad is not None:
        Entry.objects.filter(chain=chain, seq=bad).update(object_id="999")
    problem = _problem(chain_lab)
    assert (problem and problem.seq) == bad
