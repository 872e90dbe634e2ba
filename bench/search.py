"""demo_generate and the three searches, on one population (one instance, one process).

demo_generate: patients per second of the demo bulk path (patients.bulk.bulk_register,
what `etanche demo --patients N` runs) from synthetic identities to committed rows;
baseline: the same identities inserted in clear into bench.plain with the same
strategy (COPY on PostgreSQL, executemany on SQLite), same batches.

search_*_p95: latency p95 in ms of POST /patients/ (the search page takes its
criteria in the body only) through `etanche serve`, one logged-in user asking one
query at a time (latency without queueing), for people drawn from the population;
baseline: the same queries on the plaintext twin page, interleaved query by query so
both see the same machine. Floor: the cheapest authenticated POST the stack can serve
(bench/plain `floor`, the stack_floor page), sent after each pair of queries on the same
connection, so each search's p95 has the stack's own p95 beside it (detail.floor_p95_ms,
detail.over_floor_ms). The account's search limits and the cap on a name-only
list are lifted for the run: one user sends thousands of searches, and a name alone
must list its people on both pages for the result counts to be compared.
"""

import os
import re
import time

from bench import fill, web

FLOOR = "/bench/plain/plancher/"
TOTAL = re.compile(rb"(\d+) r\xc3\xa9sultat")
SEARCHES = {
    "search_nir_p95": lambda p: {"nir": p.ins},
    "search_name_dob_p95": lambda p: {"name": p.birth_name,
                                      "birth_date": p.birth_date.isoformat()},
    "search_name_p95": lambda p: {"name": p.birth_name},
}
NO_LIMITS = {name: "1000000000" for name in (
    "ETANCHE_SEARCH_PER_MINUTE", "ETANCHE_SEARCH_PER_HOUR",
    "ETANCHE_PATIENT_READS_PER_MINUTE", "ETANCHE_PATIENT_READS_PER_HOUR",
    "ETANCHE_SEARCH_NAME_ONLY_MAX")}
TARGETS = {"search_nir_p95": "<= 15 ms", "search_name_dob_p95": "<= 15 ms",
           "search_name_p95": "none (reported with its result sizes)"}


def _query(client, path, params) -> tuple[float, int]:
    started = time.perf_counter()
    status, _, body = client.post(path, params)
    elapsed = time.perf_counter() - started
    if status != 200:
        raise RuntimeError(f"search {path}: HTTP {status}")
    match = TOTAL.search(body)
    return elapsed, int(match.group(1)) if match else 0


def _floor(client) -> float:
    started = time.perf_counter()
    status, _, _ = client.post(FLOOR, {})
    elapsed = time.perf_counter() - started
    if status != 302:
        raise RuntimeError(f"floor: HTTP {status}")
    return elapsed


def run(ctx) -> list[dict]:
    from bench.users import make_frontdesk

    n = int(os.environ.get("BENCH_N", "0")) or (50_000 if ctx.quick else 1_000_000)
    queries = 100 if ctx.quick else 300
    lab = fill.make_lab(expected_patients=n)
    sample: list = []
    sealed_s = fill.fill_sealed(lab, n, seed=3, sample_every=max(1, n // queries), sample=sample)
    plain_s = fill.fill_plain(lab, n, seed=3)
    fill.settle()
    results = []
    if ctx.wants("demo_generate"):
        results.append({
            "name": "demo_generate", "value": round(n / sealed_s), "unit": "patients/s",
            "baseline": round(n / plain_s), "ratio": round(sealed_s / plain_s, 2), "n": n,
            "detail": {"sealed_s": round(sealed_s, 1), "plain_s": round(plain_s, 1),
                       "projected_1m_s": round(1_000_000 * sealed_s / n),
                       "target": "1,000,000 in < 600 s on PostgreSQL (>= 1667 patients/s)"},
        })
    wanted = [name for name in SEARCHES if ctx.wants(name)]
    if not wanted:
        return results
    (username, password, code_now), = make_frontdesk(lab, 1)
    workers = int(os.environ.get("BENCH_WORKERS", "0")) or 2
    with web.Server({**ctx.env, **NO_LIMITS}, workers=workers, threads=1) as server:
        client = web.Client(server.port)
        client.login(username, password, code_now)
        for name in wanted:
            params = [SEARCHES[name](p) for p in sample[:queries]]
            for p in params[:10]:  # warm up: keys, templates, connections of every worker
                _query(client, "/patients/", p)
                _query(client, "/bench/plain/patients/", p)
            timings = {"sealed": [], "plain": [], "floor": []}
            sizes = []
            with web.CpuMeter(server.proc.pid) as meter:
                for p in params:
                    elapsed, total = _query(client, "/patients/", p)
                    timings["sealed"].append(elapsed)
                    sizes.append(total)
                    elapsed, plain_total = _query(client, "/bench/plain/patients/", p)
                    timings["plain"].append(elapsed)
                    timings["floor"].append(_floor(client))
                    if plain_total != total:
                        raise RuntimeError(f"{name}: {total} results sealed, {plain_total} plain")
            p95 = {k: 1000 * web.percentile(v, 95) for k, v in timings.items()}
            results.append({
                "name": name, "value": round(p95["sealed"], 1), "unit": "ms",
                "baseline": round(p95["plain"], 1), "ratio": round(p95["sealed"] / p95["plain"], 2),
                "n": n,
                "detail": {
                    "target": TARGETS[name], "queries": len(params),
                    "floor_p95_ms": round(p95["floor"], 1),
                    "over_floor_ms": round(p95["sealed"] - p95["floor"], 1),
                    "p50_ms": {k: round(1000 * web.percentile(v, 50), 1)
                               for k, v in timings.items()},
                    "results": {"min": min(sizes), "median": sorted(sizes)[len(sizes) // 2],
                                "max": max(sizes), "mean": round(sum(sizes) / len(sizes), 1)},
                    "cpu": meter.as_dict(),
                },
            })
        client.close()
    return results
