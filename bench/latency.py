"""latency_*: what a secretary feels, p50/p95/p99 of each front-office page while 50 staff work.

`etanche serve` (product defaults) with the bench settings on a pre-filled lab
(100,000 patients; quick: 5,000). 50 front-office accounts (BENCH_USERS) log in through
the real pages (password, then TOTP) and work through the front-office day of
bench/locustfile.py (search, registration, request entry, labels; the scenario of the
load smoke test), run by locust as its own process (gevent does not belong in here).
Each person also opens the floor page (bench/plain/views.py `floor`: same middleware,
session, login and second factor, CSRF, the layout, no query of ours), form then POST,
at one task in twelve: the floor measured under the SAME load, in the same seconds.

The measured window (180 s; quick: 30 s) opens 10 s (quick: 5 s) after the last login
ended; only requests started inside it count, timed exactly from locust's request
events, and the CPU is read over the same seconds. One line per page: value = its p95
in ms, baseline = the floor's p95 by the same method (a page's GET form against the
floor's GET, a POST against the floor's POST, which answers with the redirect a form's
success gives), ratio = value / baseline.
`latency_floor` carries the floor itself and the run: requests/s, client (locust),
server and database CPU in the window, and the CPU per request.

Rate limits per account are lifted (the scripted day searches faster than a person;
the limit's check still runs on every request); cookies are not marked Secure (plain
http on loopback, as in tests/deploy/faults.py).
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench import fill, web

FLOOR = "/bench/plain/plancher/"
LOCUSTFILE = Path(__file__).with_name("locustfile.py")
# locust's request name -> (benchmark, method); the floor is the baseline of the others.
PAGES = {
    "search (form)": ("latency_search_form", "GET"),
    "search": ("latency_search", "POST"),
    "registration (form)": ("latency_registration_form", "GET"),
    "registration": ("latency_registration", "POST"),
    "request entry (form)": ("latency_request_entry_form", "GET"),
    "request entry": ("latency_request_entry", "POST"),
    "labels": ("latency_labels", "GET"),
}
FLOOR_NAMES = {"GET": "floor (form)", "POST": "floor"}
UNLIMITED = {name: "1000000000" for name in (
    "ETANCHE_SEARCH_PER_MINUTE", "ETANCHE_SEARCH_PER_HOUR",
    "ETANCHE_PATIENT_READS_PER_MINUTE", "ETANCHE_PATIENT_READS_PER_HOUR")}


def _read_timings(path: Path, start: float, end: float) -> tuple[dict, dict]:
    """{name: [ms, ...]} and {name: {failure: count}} of the requests started in [start, end)."""
    times: dict[str, list[float]] = {}
    failures: dict[str, dict[str, int]] = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 5 or not start <= float(parts[0]) < end:
                continue
            _, _method, name, ms, failure = parts
            if failure:
                kinds = failures.setdefault(name, {})
                kinds[failure] = kinds.get(failure, 0) + 1
            else:
                times.setdefault(name, []).append(float(ms))
    return times, failures


def _stats(values: list[float], failures: dict) -> dict:
    # No request of a page in the window: null, not NaN (which is not JSON).
    return {**{f"p{p}": round(web.percentile(values, p), 2) if values else None
               for p in (50, 95, 99)},
            "count": len(values),
            "failures": sum(failures.values()), "failure_kinds": failures}


def _logged_in(path: Path) -> int:
    """People whose login ended (the TOTP step answered, or the password step failed)."""
    if not path.exists():
        return 0
    done = 0
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 5 and (parts[2] == "login code" or (parts[2] == "login"
                                                                  and parts[4])):
                done += 1
    return done


def _locust(host: str, users: int, seconds: float, env: dict, where: Path):
    stderr = open(where / "locust.log", "w", encoding="utf-8")  # noqa: SIM115  closed in run()
    proc = subprocess.Popen(  # noqa: S603  the venv's locust, fixed arguments, our loopback server
        [str(Path(sys.executable).with_name("locust")), "-f", str(LOCUSTFILE), "--headless",
         "-u", str(users), "-r", str(max(1, users // 5)), "-t", f"{int(seconds)}s",
         "--host", host, "--only-summary"],
        env=env, stdout=subprocess.DEVNULL, stderr=stderr, text=True)
    return proc, stderr


def run(ctx) -> list[dict]:
    from bench.users import make_accounts

    quick = ctx.quick
    prepopulated = 5_000 if quick else 100_000
    users_n = int(os.environ.get("BENCH_USERS", "0")) or 50
    seconds = 30 if quick else 180
    # The window opens this long after the last login ended: the first pages of each
    # person (a worker's cold caches) stay out of it.
    settle = 5 if quick else 10
    logins_within = 300  # seconds for locust to start and every person to log in

    lab = fill.make_lab(expected_patients=prepopulated)
    fill.fill_sealed(lab, prepopulated, seed=1)
    accounts = make_accounts(lab, users_n)
    fill.settle()

    from etanche.ops.management.commands.serve import Command as Serve

    defaults = {a.dest: a.default for a in Serve().create_parser("etanche", "serve")._actions}
    workers, threads = defaults["workers"], defaults["threads"]
    # The data directory goes away with the instance: the accounts file with it.
    where = Path(ctx.env["ETANCHE_DATA_DIR"]) / "latency"
    where.mkdir()
    (where / "accounts.json").write_text(json.dumps(accounts), encoding="utf-8")
    timings = where / "timings.tsv"
    server_env = {**ctx.env, **UNLIMITED, "ETANCHE_SECURE_COOKIES": "0"}
    with web.Server(server_env, workers=workers, threads=threads) as server:
        host = f"http://{web.HOST}:{server.port}"
        load_env = {**os.environ, "ETANCHE_LOAD_ACCOUNTS": str(where / "accounts.json"),
                    "ETANCHE_LOAD_FLOOR": FLOOR, "ETANCHE_LOAD_TIMINGS": str(timings)}
        # locust's own deadline only bounds a run this process failed to stop.
        proc, stderr = _locust(host, users_n, logins_within + settle + seconds + 60,
                               load_env, where)
        try:
            deadline = time.monotonic() + logins_within
            while _logged_in(timings) < users_n:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"{_logged_in(timings)} of {users_n} logins ended; locust: "
                        f"{(where / 'locust.log').read_text()[-2000:]}")
                time.sleep(0.5)
            logins_s = round(logins_within - (deadline - time.monotonic()), 1)
            time.sleep(settle)
            start = time.time()
            locust0 = web.pids_cpu([proc.pid]).get(proc.pid, 0.0)
            with web.CpuMeter(server.proc.pid) as meter:
                time.sleep(seconds)
            end = time.time()
            locust_cpu = web.pids_cpu([proc.pid]).get(proc.pid, 0.0) - locust0
            proc.send_signal(signal.SIGTERM)  # locust stops its users and exits
            proc.wait(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            stderr.close()
    if proc.returncode not in (0, 1):  # 1: some requests failed, which the lines report
        raise RuntimeError(f"locust exited {proc.returncode}: "
                           f"{(where / 'locust.log').read_text()[-2000:]}")

    times, failures = _read_timings(timings, start, end)
    cpu = meter.as_dict()
    cpu["client_cpu_s"] = round(meter.client + locust_cpu, 2)  # locust + this process
    cpu["other_cpu_s"] = round(max(meter.machine - meter.client - locust_cpu - meter.server
                                   - meter.db, 0), 2)
    requests = sum(len(v) for v in times.values())
    floor = {m: _stats(times.get(n, []), failures.get(n, {})) for m, n in FLOOR_NAMES.items()}
    common = {"users": users_n, "seconds_measured": round(end - start, 1),
              "population_before": prepopulated, "workers": workers, "threads": threads}
    results = []
    for page, (bench_name, method) in PAGES.items():
        stats = _stats(times.get(page, []), failures.get(page, {}))
        baseline = floor[method]["p95"]
        results.append({
            "name": bench_name, "value": stats["p95"], "unit": "ms p95 under load",
            "baseline": baseline,
            "ratio": round(stats["p95"] / baseline, 2) if stats["p95"] and baseline else None,
            "n": stats["count"],
            "detail": {"page": page, "method": method, **stats,
                       "floor": {"page": FLOOR_NAMES[method], **floor[method]}, **common},
        })
    spent = cpu["server_cpu_s"] + cpu["database_cpu_s"]
    results.append({
        "name": "latency_floor", "value": floor["GET"]["p95"],
        "unit": "ms p95 under load (floor GET; baseline: itself)",
        "baseline": floor["GET"]["p95"], "ratio": 1.0 if floor["GET"]["p95"] else None,
        "n": floor["GET"]["count"],
        "detail": {
            "page": FLOOR, "by_method": floor, **common,
            "requests": requests, "requests_per_s": round(requests / max(end - start, 1e-9), 1),
            "failures": sum(sum(k.values()) for k in failures.values()),
            "seconds_to_log_everyone_in": logins_s,
            "cpu": cpu,
            "server_database_cpu_ms_per_request": round(1000 * spent / max(requests, 1), 2),
        },
    })
    return [r for r in results if ctx.wants(r["name"])]
