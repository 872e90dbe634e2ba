"""schemathesis against /fhir/openapi.json, with a token, on a live server: a bounded
number of generated requests (at most 12 per operation and phase: about 400 in all, under
a minute on the shared machine), and none may end
in a server error, a status, content type, header or body the description does not
allow, or be answered without the token (ignored_auth)."""

import json
import subprocess
from pathlib import Path

import pytest

from tests.cli_helpers import ETANCHE
from tests.fhir.helpers import api, token_for
from tests.orders.helpers import make_order, make_patient

SCHEMATHESIS = str(Path(ETANCHE).with_name("schemathesis"))
CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,"
          "response_schema_conformance,response_headers_conformance,ignored_auth")


@pytest.mark.once
def test_schemathesis_finds_no_server_error_and_no_schema_violation(
        transactional_db, world, live_server, tmp_path):
    patient = make_patient(world.lab_a, world.frontdesk)
    make_order(world.lab_a, world.frontdesk, patient)
    secret = token_for(world.biologist, world.lab_a, "user/*.* etanche/clinical.read")
    described = api(secret).get("/fhir/openapi.json")
    assert described.status_code == 200
    schema = tmp_path / "openapi.json"
    schema.write_text(json.dumps(described.json()), encoding="utf-8")
    run = subprocess.run(
        [SCHEMATHESIS, "run", str(schema), "--url", live_server.url,
         "--header", f"Authorization: Bearer {secret}", "--checks", CHECKS,
         "--max-examples", "12", "--seed", "19", "--no-shrink",
         "--phases", "examples,coverage,fuzzing", "--request-timeout", "10",
         "--generation-allow-x00", "true"],
        capture_output=True, text=True, timeout=240, check=False,
        cwd=tmp_path)
    summary = run.stdout[-6000:]
    assert run.returncode == 0, summary
