from datetime import timedelta

import pytest
from django.utils import timezone

from etanche.journal import services
from etanche.journal.models import Action, Chain, Entry


def _old_and_new(lab):
    for i in range(8):
        services.record(lab=lab, user=None, action=Action.READ, object_id=i)
    chain = Chain.objects.get(name=services.chain_name(lab))
    return chain


def test_purge_does_nothing_when_every_entry_is_recent(chain_lab):
    _old_and_new(chain_lab)
    assert services.purge_older_than(365) == {}
    assert Entry.objects.count() == 9
    assert services.verify(chain_lab)[0].problem is None


def test_purge_deletes_old_entries_and_verification_passes(chain_lab, monkeypatch):
    frozen = timezone.now() - timedelta(days=500)
    monkeypatch.setattr(timezone, "now", lambda: frozen)
    for i in range(5):
        services.record(lab=chain_lab, user=None, action=Action.READ, object_id=i)
    monkeypatch.undo()
    for i in range(3):
        services.record(lab=chain_lab, user=None, action=Action.READ, object_id=100 + i)

    purged = services.purge_older_than(365)

    name = services.chain_name(chain_lab)
    assert purged == {name: 6}  # start marker + 5 old entries
    [report] = services.verify(chain_lab)
    assert report.problem is None
    assert report.entries == 4  # 3 kept + the purge entry
    purge = Entry.objects.filter(action=Action.JOURNAL_PURGE).get()
    assert '"deleted":6' in purge.detail


def test_after_a_purge_deleting_more_is_still_detected(chain_lab, monkeypatch):
    frozen = timezone.now() - timedelta(days=500)
    monkeypatch.setattr(timezone, "now", lambda: frozen)
    for i in range(3):
        services.record(lab=chain_lab, user=None, action=Action.READ, object_id=i)
    monkeypatch.undo()
    for i in range(3):
        services.record(lab=chain_lab, user=None, action=Action.READ, object_id=10 + i)
    services.purge_older_than(365)
    chain = Chain.objects.get(name=services.chain_name(chain_lab))
    first = Entry.objects.filter(chain=chain).order_by("seq").first()
    Entry.objects.filter(pk=first.pk).delete()
    assert services.verify(chain_lab)[0].problem.seq == first.seq


def test_purge_refuses_a_tampered_chain(chain_lab, monkeypatch):
    frozen = timezone.now() - timedelta(days=500)
    monkeypatch.setattr(timezone, "now", lambda: frozen)
    for i in range(3):
        services.record(lab=chain_lab, user=None, action=Action.READ, object_id=i)
    monkeypatch.undo()
    services.record(lab=chain_lab, user=None, action=Action.READ, object_id=9)
    chain = Chain.objects.get(name=services.chain_name(chain_lab))
    Entry.objects.filter(chain=chain, seq=1).update(object_id="x")
    with pytest.raises(services.JournalError, match="not purged"):
        services.purge_older_than(365)
    assert Entry.objects.filter(chain=chain, seq=1).exists()
