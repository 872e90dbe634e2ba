"""fhir_read_p95 and fhir_search_p95: the FHIR API beside the same work on the web pages.

On one sealed population (the demo bulk path, 1,000,000 patients by default; BENCH_N),
through `etanche serve`, one caller asking one query at a time, interleaved query by
query so both paths see the same machine:
- fhir_read_p95: GET /fhir/Patient/<id> with a personal token; baseline: the patient
  page GET /patients/<id>/ of a logged-in front-office user;
- fhir_search_p95: POST /fhir/Patient/_search identifier=<INS system>|<NIR>; baseline:
  the web search GET /patients/?nir=<NIR>.
Both journal every read and search, as in production. ratio > 1: the API is slower.
"""

import http.client
import os
import time
from urllib.parse import urlencode

from bench import fill, web

INS_NIR = "urn:oid:1.2.250.1.213.1.4.8"
NO_LIMITS = {name: "1000000000" for name in (
    "ETANCHE_API_REQUESTS_PER_MINUTE", "ETANCHE_API_REQUESTS_PER_HOUR",
    "ETANCHE_SEARCH_PER_MINUTE", "ETANCHE_SEARCH_PER_HOUR",
    "ETANCHE_PATIENT_READS_PER_MINUTE", "ETANCHE_PATIENT_READS_PER_HOUR")}


class Api:
    """A keep-alive client sending the token on every request."""

    def __init__(self, port: int, secret: str):
        self.port, self.secret = port, secret
        self.conn = http.client.HTTPConnection(web.HOST, port, timeout=60)

    def request(self, method: str, path: str, form: dict | None = None) -> int:
        headers = {"Host": f"{web.HOST}:{self.port}", "Authorization": f"Bearer {self.secret}"}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                response.read()
                return response.status
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                if attempt:
                    raise
        return 0


def _timed(call) -> float:
    started = time.perf_counter()
    status = call()
    if status != 200:
        raise RuntimeError(f"HTTP {status}")
    return time.perf_counter() - started


def run(ctx) -> list[dict]:
    from bench.users import make_frontdesk
    from etanche.accounts import tokens
    from etanche.accounts.models import Membership
    from etanche.patients.models import Patient

    n = int(os.environ.get("BENCH_N", "0")) or (20_000 if ctx.quick else 1_000_000)
    queries = 100 if ctx.quick else 300
    lab = fill.make_lab(expected_patients=n)
    sample: list = []
    fill.fill_sealed(lab, n, seed=5, sample_every=max(1, n // queries), sample=sample)
    # Ids are random: the first ones in id order are a random sample.
    ids = list(Patient.objects.for_lab(lab).order_by("pk").values_list("pk", flat=True)[:queries])
    (username, password, code_now), = make_frontdesk(lab, 1, prefix="fhirbench")
    membership = Membership.objects.select_related("lab", "user").get(
        user__username=username, lab=lab)
    _, secret = tokens.create_token(membership, scopes="user/Patient.read",
                                    validity=tokens.parse_validity("1d"), label="bench")
    work = {
        "fhir_read_p95": [(lambda api, pk=pk: api.request("GET", f"/fhir/Patient/{pk}"),
                           lambda browser, pk=pk: browser.get(f"/patients/{pk}/")[0])
                          for pk in ids],
        "fhir_search_p95": [(lambda api, p=p: api.request(
            "POST", "/fhir/Patient/_search", {"identifier": f"{INS_NIR}|{p.ins}"}),
                             lambda browser, p=p: browser.get("/patients/", {"nir": p.ins})[0])
                            for p in sample[:queries]],
    }
    results = []
    env = {**ctx.env, **NO_LIMITS}
    with web.Server(env, workers=int(os.environ.get("BENCH_WORKERS", "0")) or 2,
                    threads=1) as server:
        browser = web.Client(server.port)
        browser.login(username, password, code_now)
        api = Api(server.port, secret)
        for name, calls in work.items():
            if not ctx.wants(name):
                continue
            for through_api, through_web in calls[:10]:  # warm up every worker
                _timed(lambda c=through_api: c(api))
                _timed(lambda c=through_web: c(browser))
            timings = {"api": [], "web": []}
            for through_api, through_web in calls:
                timings["api"].append(_timed(lambda c=through_api: c(api)))
                timings["web"].append(_timed(lambda c=through_web: c(browser)))
            p95 = {k: 1000 * web.percentile(v, 95) for k, v in timings.items()}
            results.append({
                "name": name, "value": round(p95["api"], 1), "unit": "ms",
                "baseline": round(p95["web"], 1), "ratio": round(p95["api"] / p95["web"], 2),
                "n": n, "detail": {
                    "queries": len(calls), "baseline_is": "the same through the web UI",
                    "p50_ms": {k: round(1000 * web.percentile(v, 50), 1)
                               for k, v in timings.items()}},
            })
        browser.close()
    return results
