import pytest
from django.db import transaction

from etanche.journal import services
from etanche.journal.models import Action, Chain, Entry, Kind
from etanche.journal.verify import verify


def test_it_starts_a_chain_with_a_start_marker(chain_lab):
    entry = services.record(
        lab=chain_lab, user=None, action=Action.SEARCH, detail={"criteria": "nir"}
    )
    chain = Chain.objects.get(pk=entry.chain_id)
    first = Entry.objects.filter(chain=chain).order_by("seq").first()
    assert (first.seq, first.kind, first.action) == (0, Kind.START, Action.CHAIN_START)
    assert first.anchor  # sealed key to verify from
    assert entry.seq == Entry.objects.filter(chain=chain).count() - 1
    assert entry.detail == '{"criteria":"nir"}'


def test_it_records_who_did_what(chain_lab, django_user_model):
    user = django_user_model.objects.create_user(
        username="jeanne.martin", first_name="Jeanne", last_name="Martin", email="j@example.invalid"
    )
    entry = services.record(
        lab=chain_lab,
        user=user,
        action=Action.READ,
        object_type="patient",
        object_id=42,
        purpose="prise en charge",
    )
    assert (entry.user_id, entry.actor) == (user.pk, "jeanne.martin")
    assert (entry.object_type, entry.object_id, entry.purpose) == (
        "patient",
        "42",
        "prise en charge",
    )
    assert entry.lab_id == (None if chain_lab is None else chain_lab.pk)


def test_it_keeps_no_key_in_clear(chain_lab):
    services.record(lab=chain_lab, user=None, action=Action.SEARCH)
    chain = Chain.objects.get(name=services.chain_name(chain_lab))
    # The state is ciphertext: no JSON, no base64 key visible.
    assert b'"key"' not in bytes(chain.state)


@pytest.mark.django_db(transaction=True)
def test_it_leaves_no_entry_when_the_action_rolls_back(chain_lab):
    services.record(lab=chain_lab, user=None, action=Action.SEARCH)
    before = Entry.objects.count()

    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():  # noqa: PT012
        services.record(lab=chain_lab, user=None, action=Action.CREATE, object_type="patient")
        raise Boom

    assert Entry.objects.count() == before
    [report] = verify(chain_lab)
    assert report.problem is None


@pytest.mark.django_db(transaction=True)
def test_an_entry_recorded_outside_the_failing_transaction_survives(chain_lab):
    # What the login view does for a failed login: record, then fail.
    services.record(lab=chain_lab, user=None, action=Action.LOGIN_FAILED, outcome="denied")
    assert Entry.objects.filter(action=Action.LOGIN_FAILED).count() == 1


def test_it_refuses_unknown_actions(chain_lab):
    with pytest.raises(services.JournalError, match="unknown journal action"):
        services.record(lab=chain_lab, user=None, action="peek")


def test_it_refuses_entries_after_the_end_marker(chain_lab):
    services.record(lab=chain_lab, user=None, action=Action.SEARCH)
    services.close_chain(chain_lab, reason="fermeture")
    with pytest.raises(services.JournalError, match="closed"):
        services.record(lab=chain_lab, user=None, action=Action.SEARCH)
    [report] = verify(chain_lab)
    assert report.problem is None


def test_it_names_the_cli_operator(chain_lab, monkeypatch):
    from etanche.journal import actor

    monkeypatch.setattr(actor, "_cli", True)
    monkeypatch.setenv("ETANCHE_OPERATOR", "Jeanne Martin")
    entry = services.record(lab=chain_lab, user=None, action=Action.KEY_ROTATE)
    assert entry.actor.startswith("cli:")
    assert entry.actor.endswith("(Jeanne Martin)")
