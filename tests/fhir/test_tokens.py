"""Personal API tokens: shown once, stored as a keyed digest, never more than the user."""

import io
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from etanche.accounts import tokens
from etanche.accounts.models import Membership, Role, SealedTOTPDevice
from etanche.journal.models import Action, Entry
from tests.fhir.helpers import api, patient_body, post_json, token_for
from tests.orders.helpers import make_order, make_patient
from tests.personas import sign_in, totp_now


def _membership(user, lab):
    return Membership.objects.select_related("lab", "user").get(user=user, lab=lab)


def test_it_keeps_only_a_keyed_digest_of_the_token(world):
    secret = token_for(world.biologist, world.lab_a)
    row = tokens.ApiToken.objects.get()
    assert secret.startswith("etk_") and row.digest != secret and secret not in row.digest
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_api_token")
        assert not any(secret in str(v) for v in cursor.fetchone())
    assert api(secret).get("/fhir/openapi.json").status_code == 200
    assert api(secret[:-1] + "x").get("/fhir/openapi.json").status_code == 401


@pytest.mark.parametrize("scopes", ["", "patient/Observation.read", "user/Organization.write",
                                    "system/*.read", "Patient.read"])
def test_it_refuses_malformed_scopes(world, scopes):
    with pytest.raises(ValidationError):
        tokens.create_token(_membership(world.biologist, world.lab_a), scopes=scopes,
                            validity=timedelta(days=1), label="x")


def test_it_refuses_a_scope_the_role_cannot_use_and_more_than_a_year(world):
    with pytest.raises(ValidationError, match="ne permet pas"):
        tokens.create_token(_membership(world.labadmin, world.lab_a),
                            scopes="patient/Patient.read", validity=timedelta(days=1), label="x")
    with pytest.raises(ValidationError, match="ne permet pas"):
        tokens.create_token(_membership(world.frontdesk, world.lab_a), scopes=tokens.CLINICAL,
                            validity=timedelta(days=1), label="x")
    with pytest.raises(ValidationError):
        tokens.parse_validity("366d")
    assert tokens.parse_validity("365d") == timedelta(days=365)


def test_a_token_loses_its_authority_with_its_user(world):
    patient = make_patient(world.lab_a, world.frontdesk)
    client = api(token_for(world.biologist, world.lab_a))
    path = f"/fhir/Patient/{patient.pk}"
    assert client.get(path).status_code == 200
    membership = _membership(world.biologist, world.lab_a)
    membership.role = Role.AUDITOR
    membership.save()
    assert client.get(path).status_code == 403
    membership.role, membership.is_active = Role.BIOLOGIST, False
    membership.save()
    assert client.get(path).status_code == 401
    membership.is_active = True
    membership.save()
    world.biologist.is_active = False
    world.biologist.save()
    assert client.get(path).status_code == 401


def test_a_promotion_gives_the_token_nothing(world):
    patient = make_patient(world.lab_a, world.frontdesk)
    order = make_order(world.lab_a, world.frontdesk, patient, clinical_info="Grossesse")
    client = api(token_for(world.frontdesk, world.lab_a, "user/ServiceRequest.read"))
    membership = _membership(world.frontdesk, world.lab_a)
    membership.role = Role.BIOLOGIST
    membership.save()
    resource = client.get(f"/fhir/ServiceRequest/{order.pk}").json()
    assert "reasonCode" not in resource


def test_expired_and_revoked_tokens_are_refused(world):
    client = api(token_for(world.biologist, world.lab_a))
    row = tokens.ApiToken.objects.get()
    row.expires_at = timezone.now() - timedelta(seconds=1)
    row.save()
    response = client.get("/fhir/openapi.json")
    assert response.status_code == 401 and "expiré" in response.json()["issue"][0]["diagnostics"]
    row.expires_at = timezone.now() + timedelta(days=1)
    row.save()
    assert tokens.revoke(row, actor=world.biologist)
    response = client.get("/fhir/openapi.json")
    assert response.status_code == 401 and "révoqué" in response.json()["issue"][0]["diagnostics"]
    assert Entry.objects.filter(action=Action.TOKEN_REVOKE, object_id=str(row.pk)).exists()


def test_it_limits_each_token_with_429_and_retry_after(world, settings):
    settings.ETANCHE_API_REQUESTS_PER_MINUTE = 2
    client = api(token_for(world.biologist, world.lab_a))
    assert [client.get("/fhir/openapi.json").status_code for _ in range(2)] == [200, 200]
    response = client.get("/fhir/openapi.json")
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert response.json()["issue"][0]["code"] == "throttled"
    other = api(token_for(world.biologist, world.lab_a))
    assert other.get("/fhir/openapi.json").status_code == 200


def test_it_locks_a_token_after_repeated_refusals(world, settings):
    settings.ETANCHE_API_TOKEN_FAILURES = 3
    client = api(token_for(world.biologist, world.lab_a, "user/Organization.read"))
    assert [client.get("/fhir/Patient?_id=1").status_code for _ in range(3)] == [403] * 3
    response = client.get(f"/fhir/Organization/{world.lab_a.pk}")
    assert response.status_code == 401 and "verrouillé" in response.content.decode()
    token = tokens.ApiToken.objects.get()
    assert Entry.objects.filter(action=Action.API_DENIED, object_id=str(token.pk)).count() == 3
    assert Entry.objects.filter(action=Action.TOKEN_LOCKOUT, object_id=str(token.pk)).exists()


def test_every_read_and_write_is_journaled_under_the_user_with_the_token(world):
    client = api(token_for(world.biologist, world.lab_a))
    token = tokens.ApiToken.objects.get()
    created = post_json(client, "/fhir/Patient", patient_body()).json()
    client.get(f"/fhir/Patient/{created['id']}")
    entries = Entry.objects.filter(object_id=created["id"], action__in=[Action.CREATE,
                                                                         Action.READ])
    assert entries.count() >= 2
    assert {e.actor for e in entries} == {f"sophie.bernard (jeton API #{token.pk})"}
    assert {e.user_id for e in entries} == {world.biologist.pk}


def _device(user):
    return SealedTOTPDevice.objects.get(user=user)


def test_the_cli_creates_lists_and_revokes_with_the_totp(world, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO(totp_now(_device(world.biologist)) + "\n"))
    call_command("tokens", "create", "--user", "sophie.bernard", "--lab", world.lab_a.slug,
                 "--scopes", "user/Patient.read,user/ServiceRequest.*", "--expires", "90d")
    secret = capsys.readouterr().out.strip().splitlines()[-1]
    assert api(secret).get("/fhir/openapi.json").status_code == 200
    token = tokens.ApiToken.objects.get()
    call_command("tokens", "list", "--user", "sophie.bernard")
    listing = capsys.readouterr().out
    assert str(token.pk) in listing and secret not in listing
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    with pytest.raises(CommandError, match="TOTP"):
        call_command("tokens", "revoke", str(token.pk), "--user", "sophie.bernard")
    # The code of the next step: the current one was spent by `create`.
    monkeypatch.setattr("sys.stdin", io.StringIO(totp_now(_device(world.biologist), 1) + "\n"))
    call_command("tokens", "revoke", str(token.pk), "--user", "sophie.bernard")
    assert api(secret).get("/fhir/openapi.json").status_code == 401
    monkeypatch.setattr("sys.stdin", io.StringIO(totp_now(_device(world.labadmin)) + "\n"))
    with pytest.raises(CommandError, match="ne permet pas"):
        call_command("tokens", "create", "--user", "claire.dubois", "--lab", world.lab_a.slug,
                     "--scopes", "user/Patient.read")


def test_the_page_shows_the_token_once_and_revokes_it(world):
    client = sign_in(Client(), world.biologist, sudo=True)
    response = client.post("/compte/jetons-api/", {
        "label": "SIL analytique", "scopes": ["user/Patient.read", "user/Specimen.read"],
        "expires": "30d"})
    assert response.status_code == 200
    token = tokens.ApiToken.objects.get()
    page = response.content.decode()
    secret = page.split("<code>etk_", 1)[1].split("</code>", 1)[0]
    assert api("etk_" + secret).get("/fhir/openapi.json").status_code == 200
    again = client.get("/compte/jetons-api/").content.decode()
    assert "etk_" not in again and "SIL analytique" in again
    assert client.post("/compte/jetons-api/", {"revoke": str(token.pk)}).status_code == 302
    assert api("etk_" + secret).get("/fhir/openapi.json").status_code == 401
    refused = client.post("/compte/jetons-api/", {"label": "x", "scopes": ["user/Patient.read"],
                                                  "expires": "400d"})
    assert refused.status_code == 400 and "Durée" in refused.content.decode()
