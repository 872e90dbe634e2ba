"""Several chains verified by forked workers report exactly what one process reports."""

import pytest

from etanche.journal import services
from etanche.journal.models import Action, Chain, Entry
from etanche.journal.verify import verify
from etanche.lib import forked
from etanche.vault import chainmac


@pytest.mark.django_db(transaction=True)
def test_forked_verification_names_the_same_problems(make_lab, monkeypatch):
    # In the whole suite an earlier test can leave an idle server thread behind (SMTP,
    # syslog, MLLP peers), which makes fork_workers refuse to fork; those threads sit in
    # accept() holding no lock, so this test forks anyway to test the forked path.
    monkeypatch.setattr(forked.threading, "active_count", lambda: 1)
    labs = [make_lab() for _ in range(3)]
    for lab in labs:
        for i in range(5):
            services.record(lab=lab, user=None, action=Action.READ, object_type="patient",
                            object_id=i)
    broken = Chain.objects.get(name=services.chain_name(labs[1]))
    Entry.objects.filter(chain=broken, seq=3).update(object_id="999")
    assert forked.fork_workers(2, len(labs) + 1, 2) == 2  # this test does fork

    def outcome(reports):
        return [(r.chain, r.entries, r.problem and (r.problem.seq, r.problem.reason))
                for r in reports]

    together, alone = verify(workers=2), verify(workers=1)
    assert outcome(together) == outcome(alone)
    assert [r.chain for r in together if r.problem] == [broken.name]
    for report in together:
        if report.problem is None:  # every entry of an intact chain was read
            assert report.entries == Entry.objects.filter(chain__name=report.chain).count()


def test_a_run_of_links_stops_at_the_first_bad_one():
    key, prev, canons, macs, keys = chainmac.new_key(), b"\0" * 32, [], [], []
    start = key
    for i in range(5):
        canons.append(b"entry %d" % i)
        macs.append(chainmac.link(key, prev, canons[-1]))
        keys.append(key)
        key, prev = chainmac.evolve(key), macs[-1]
    assert chainmac.verify_run(start, b"\0" * 32, canons, macs) == (key, prev, None)
    canons[3] = b"changed"
    assert chainmac.verify_run(start, b"\0" * 32, canons, macs) == (keys[3], macs[2], 3)
