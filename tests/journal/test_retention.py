from datetime import timedelta

import pytest
from django.utils import timezone

from etanche.journal import services
from etanche.journal.chain import micros
from etanche.journal.models import Action, Chain, Entry
from etanche.journal.verify import verify


@pytest.fixture(params=["system", "lab"])
def aged_chain(request, db, make_lab, monkeypatch):
    """A chain whose first entries (and lab, if any) were written 500 days ago."""

    def build(old=5, recent=3):
        frozen = timezone.now() - timedelta(days=500)
        monkeypatch.setattr(timezone, "now", lambda: frozen)
        lab = None if request.param == "system" else make_lab()
        for i in range(old):
            services.record(lab=lab, user=None, action=Action.READ, object_id=i)
        monkeypatch.undo()
        for i in range(recent):
            services.record(lab=lab, user=None, action=Action.READ, object_id=100 + i)
        return lab, Chain.objects.get(name=services.chain_name(lab))

    return build


def test_purge_does_nothing_when_every_entry_is_recent(chain_lab):
    for i in range(4):
        services.record(lab=chain_lab, user=None, action=Action.READ, object_id=i)
    before = Entry.objects.count()
    assert services.purge_older_than(365) == {}
    assert Entry.objects.count() == before
    assert verify(chain_lab)[0].problem is None


def test_purge_deletes_old_entries_and_verification_passes(aged_chain):
    lab, chain = aged_chain(old=5, recent=3)
    year_ago = micros(timezone.now() - timedelta(days=365))
    old = Entry.objects.filter(chain=chain, at_us__lt=year_ago).count()

    purged = services.purge_older_than(365)

    assert purged == {chain.name: old}
    [report] = verify(lab)
    assert report.problem is None
    assert report.entries == 4  # 3 kept + the purge entry
    purge = Entry.objects.filter(action=Action.JOURNAL_PURGE).get()
    assert f'"deleted":{old}' in purge.detail


def test_after_a_purge_deleting_more_is_still_detected(aged_chain):
    lab, chain = aged_chain(old=3, recent=3)
    services.purge_older_than(365)
    first = Entry.objects.filter(chain=chain).order_by("seq").first()
    Entry.objects.filter(pk=first.pk).delete()
    assert verify(lab)[0].problem.seq == first.seq


def test_purge_refuses_a_tampered_chain(aged_chain):
    lab, chain = aged_chain(old=3, recent=1)
    tampered = Entry.objects.filter(chain=chain).order_by("seq")[1]
    Entry.objects.filter(pk=tampered.pk).update(object_id="x")
    with pytest.raises(services.JournalError, match="not purged"):
        services.purge_older_than(365)
    assert Entry.objects.filter(pk=tampered.pk).exists()
