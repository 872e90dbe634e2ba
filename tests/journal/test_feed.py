"""The journal as a change feed (journal/feed.py): every entry once, in order, per consumer."""

import pytest

from etanche.journal import feed
from etanche.journal.models import Action, Entry
from etanche.journal.services import record


def _note(lab, user, n=1):
    for _ in range(n):
        record(lab=lab, user=user, action=Action.READ, object_type="patients.Patient",
               object_id="1")


def test_each_entry_reaches_each_consumer_once_in_order(world):
    _note(world.lab_a, world.frontdesk, 3)
    seen = []
    feed.follow("a", lambda chain, entries: seen.extend((chain.pk, e.seq) for e in entries))
    assert seen and seen == sorted(seen)
    assert len(seen) == Entry.objects.count()
    again = []
    feed.follow("a", lambda chain, entries: again.extend(entries))
    assert again == []
    _note(world.lab_a, world.frontdesk, 2)
    feed.follow("a", lambda chain, entries: again.extend(e.action for e in entries))
    assert again == [Action.READ] * 2
    other = []
    feed.follow("b", lambda chain, entries: other.extend(entries))
    assert len(other) == Entry.objects.count()  # a new consumer reads from the start


def test_a_failing_handler_leaves_the_cursor_where_it_was(world):
    _note(world.lab_a, world.frontdesk)

    def broken(chain, entries):
        raise RuntimeError("handler failed")

    with pytest.raises(RuntimeError):
        feed.follow("c", broken)
    assert feed.position("c") == {}
    assert feed.follow("c", lambda chain, entries: None) == Entry.objects.count()


def test_limit_bounds_one_pass_per_chain(world):
    _note(world.lab_a, world.frontdesk, 5)
    chain = Entry.objects.filter(lab_id=world.lab_a.pk).first().chain
    assert feed.follow("d", lambda c, e: None, limit=2, chains=[chain]) == 2
    assert feed.position("d") == {chain.pk: 1}  # entries 0 (the start) and 1
