"""intake: a patient and a request registered through the whole web stack, per second.

`etanche serve` (gunicorn) on loopback with the bench settings; C logged-in
front-office users (password + TOTP through the real login pages), each a
thread with a keep-alive connection, POST the registration form (CSRF token,
duplicate check, sealing, blind indexes, journal) and then the request form
(three tests, three tubes) for the patient just created, for a fixed time. A
registration counts when both POSTs answer with their success redirect;
redirects are not followed (the pages they lead to are reads, not intake).

Baseline: the same two POSTs on the plaintext twin pages (/bench/plain/...):
same middleware, login, CSRF, forms, input checks, duplicate query, numbering,
tests and tubes; no sealing, no blind index, no journal. Phases of 5 s
alternate plain, sealed, sealed, plain, six times (quick: 4 s, twice) so
that drift of a shared machine hits both; detail.block_ratios gives each
block's ratio, the spread the overall ratio comes with.

stack_floor, on the same server with the same logged-in clients, before and after
the intake phases: the cheapest authenticated page the product could serve
(bench/plain/views.py `floor`: middleware, session, login and second-factor state,
permission and CSRF checks, the layout rendered, no query of ours), by GET and by
POST. Its CPU per POST, twice, is the floor under one registration: intake's
detail.cpu_over_floor says how far our stack sits above it (target <= 2).
"""

import http.client
import itertools
import os
import re
import time

from bench import fill, profile, web

NAME = "intake"
FLOOR = "/bench/plain/plancher/"
TESTS = "1104 1208 1610"  # blood count, creatinine, heparin tube: no pre-analytical question
ID = re.compile(r"/patients/(\d+)/")
PATHS = {
    "sealed": ("/patients/nouveau/", "/patients/{}/demandes/nouvelle/"),
    "plain": ("/bench/plain/patients/nouveau/", "/bench/plain/patients/{}/demandes/nouvelle/"),
}


def _order_form() -> dict:
    from django.utils import timezone

    return {"tests": TESTS, "prescriber_name": "Dr Banc Essai",
            "prescription_date": timezone.localdate().isoformat()}


def _phase(port_clients, forms, counter, kind, seconds):
    create, order = PATHS[kind]
    order_data = _order_form()

    def work(client, deadline):
        done, latencies, failures = 0, [], {}
        while time.monotonic() < deadline:
            i = next(counter)
            if i >= len(forms):
                failures["out_of_forms"] = 1
                break
            started = time.perf_counter()
            try:
                status, location, _ = client.post(create, forms[i])
                match = ID.search(location) if status == 302 else None
                if not match:
                    key = f"patient_http_{status}"
                    failures[key] = failures.get(key, 0) + 1
                    continue
                status, location, _ = client.post(order.format(match.group(1)), order_data)
            except (OSError, http.client.HTTPException) as exc:  # a stalled or dropped request
                key = type(exc).__name__
                failures[key] = failures.get(key, 0) + 1
                client.conn.close()
                continue
            if status != 302:
                key = f"order_http_{status}"
                failures[key] = failures.get(key, 0) + 1
                continue
            latencies.append(time.perf_counter() - started)
            done += 1
        return done, latencies, failures

    return web.run_for(seconds, port_clients, work)


def _floor_phase(clients, method, seconds):
    def work(client, deadline):
        done, latencies, failures = 0, [], {}
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                status, _location, _ = (client.post(FLOOR, {}) if method == "POST"
                                        else client.get(FLOOR))
            except (OSError, http.client.HTTPException) as exc:
                failures[type(exc).__name__] = failures.get(type(exc).__name__, 0) + 1
                client.conn.close()
                continue
            if status != (302 if method == "POST" else 200):
                failures[f"http_{status}"] = failures.get(f"http_{status}", 0) + 1
                continue
            latencies.append(time.perf_counter() - started)
            done += 1
        return done, latencies, failures

    return web.run_for(seconds, clients, work)


def _measure_floor(server, clients, seconds, totals) -> None:
    for method in ("GET", "POST"):
        with profile.sampling(server.proc.pid, f"floor-{method}"), \
                web.CpuMeter(server.proc.pid) as meter:
            results = _floor_phase(clients, method, seconds)
        total = totals[method]
        total["seconds"] += meter.wall
        total["cpu"].append(meter.as_dict())
        for done, latencies, failures in results:
            total["done"] += done
            total["latencies"] += latencies
            for key, count in failures.items():
                total["failures"][key] = total["failures"].get(key, 0) + count


def _cpu_ms(total) -> float:
    spent = sum(c["server_cpu_s"] + c["database_cpu_s"] for c in total["cpu"])
    return round(1000 * spent / max(total["done"], 1), 2)


def _floor_result(floor) -> dict:
    post = floor["POST"]
    return {
        "name": "stack_floor",
        "value": round(post["done"] / max(post["seconds"], 1e-9), 1),
        "unit": "requests/s (authenticated POST, CSRF, redirect)",
        "baseline": None, "ratio": None, "n": post["done"],
        "detail": {
            "page": FLOOR,
            "cpu_ms_per_request": {m: _cpu_ms(floor[m]) for m in floor},
            "requests_per_s": {m: round(floor[m]["done"] / max(floor[m]["seconds"], 1e-9), 1)
                               for m in floor},
            "latency_ms": {m: {"p50": round(1000 * web.percentile(floor[m]["latencies"], 50), 2),
                               "p95": round(1000 * web.percentile(floor[m]["latencies"], 95), 2)}
                           for m in floor},
            "failures": {m: floor[m]["failures"] for m in floor},
            "cpu": {m: floor[m]["cpu"] for m in floor},
        },
    }


def run(ctx) -> list[dict]:
    from bench.users import make_frontdesk
    from etanche.synthetic.people import iter_identities

    quick = ctx.quick
    prepopulated = 2_000 if quick else 100_000
    # Short phases, many alternations: this machine's speed drifts by a quarter within a
    # minute, and only alternation finer than the drift puts it on both paths alike.
    seconds = 4 if quick else 5
    warmup = 2 if quick else 4  # a path's first phase; later ones only drain the previous
    settle = 1
    workers = int(os.environ.get("BENCH_WORKERS", "0")) or None
    threads = int(os.environ.get("BENCH_THREADS", "0")) or None
    clients_n = int(os.environ.get("BENCH_CLIENTS", "0")) or None

    lab = fill.make_lab(expected_patients=prepopulated)
    fill.fill_sealed(lab, prepopulated, seed=1)
    fill.fill_plain(lab, prepopulated, seed=1)

    from etanche.ops.management.commands.serve import Command as Serve

    defaults = {a.dest: a.default for a in Serve().create_parser("etanche", "serve")._actions}
    workers = workers or defaults["workers"]
    threads = threads or defaults["threads"]
    clients_n = clients_n or max(8, 2 * workers * threads)
    users = make_frontdesk(lab, clients_n)
    # Each phase gets its own people; plain and sealed phases reuse the same ones (other tables).
    per_phase = int((seconds + warmup) * 150)
    # ABBA blocks: a drift of the shared machine (or background work of the database)
    # falls on both paths alike rather than on whichever ran in the middle.
    rounds = ["plain", "sealed", "sealed", "plain"] * (2 if quick else 6)
    slots = sorted(set(rounds), key=rounds.index)
    occurrences = max(rounds.count(k) for k in slots)
    chunk = [fill.patient_form(p) for p in iter_identities(per_phase * occurrences, seed=2)]
    phase_forms = [chunk[i * per_phase:(i + 1) * per_phase] for i in range(occurrences)]
    fill.settle()

    totals = {k: {"done": 0, "seconds": 0.0, "latencies": [], "failures": {}, "cpu": []}
              for k in slots}
    with web.Server(ctx.env, workers=workers, threads=threads) as server:
        clients = [web.Client(server.port) for _ in users]
        for client, (username, password, code_now) in zip(clients, users, strict=True):
            client.login(username, password, code_now)
        floor = {m: {"done": 0, "seconds": 0.0, "latencies": [], "failures": {}, "cpu": []}
                 for m in ("GET", "POST")}
        _floor_phase(clients, "GET", warmup)
        _measure_floor(server, clients, seconds, floor)
        seen = {"plain": 0, "sealed": 0}
        phases = []
        for kind in rounds:
            forms = phase_forms[seen[kind]]
            seen[kind] += 1
            counter = itertools.count()
            # The first phase of a path warms every worker's caches for it.
            _phase(clients, forms, counter, kind, warmup if seen[kind] == 1 else settle)
            with profile.sampling(server.proc.pid, f"intake-{kind}-{seen[kind]}"), \
                    web.CpuMeter(server.proc.pid) as meter:
                results = _phase(clients, forms, counter, kind, seconds)
            total = totals[kind]
            total["seconds"] += meter.wall
            total["cpu"].append(meter.as_dict())
            phases.append((kind, sum(done for done, _, _ in results) / meter.wall))
            for done, latencies, failures in results:
                total["done"] += done
                total["latencies"] += latencies
                for key, count in failures.items():
                    total["failures"][key] = total["failures"].get(key, 0) + count
        _measure_floor(server, clients, seconds, floor)  # after as before: the drift shows
        for client in clients:
            client.close()

    def rate(kind):
        return totals[kind]["done"] / totals[kind]["seconds"]

    def lat(kind, p):
        return round(1000 * web.percentile(totals[kind]["latencies"], p), 1)

    def cpu_ms(kind):
        """Server + database CPU per registration: steadier than a rate on a shared machine."""
        spent = sum(c["server_cpu_s"] + c["database_cpu_s"] for c in totals[kind]["cpu"])
        return round(1000 * spent / max(totals[kind]["done"], 1), 1)

    value, baseline = rate("sealed"), rate("plain")
    floor_two_posts = 2 * _cpu_ms(floor["POST"])
    results = [{
        "name": NAME,
        "value": round(value, 1),
        "unit": "registrations/s",
        "baseline": round(baseline, 1),
        "ratio": round(baseline / value, 3) if value else None,
        "n": totals["sealed"]["done"],
        "detail": {
            "target": "ratio <= 1.10 on PostgreSQL; "
                      "CPU per registration <= 2x floor_cpu_ms_two_posts",
            "registration": "POST patient form + POST request form (3 tests, 3 tubes)",
            "population_before": prepopulated,
            "clients": clients_n, "workers": workers, "threads": threads,
            "seconds_measured_each": round(totals["sealed"]["seconds"], 1),
            "latency_ms": {k: {"p50": lat(k, 50), "p95": lat(k, 95)} for k in slots},
            "cpu_ms_per_registration": {k: cpu_ms(k) for k in slots},
            "cpu_ratio": round(cpu_ms("sealed") / max(cpu_ms("plain"), 1e-9), 3),
            # Two floor POSTs: what any registration costs in our stack before our code.
            "floor_cpu_ms_two_posts": round(floor_two_posts, 2),
            "cpu_over_floor": {k: round(cpu_ms(k) / max(floor_two_posts, 1e-9), 2)
                               for k in slots},
            "failures": {k: totals[k]["failures"] for k in slots},
            "baseline_n": totals["plain"]["done"],
            "cpu": {k: totals[k]["cpu"] for k in slots},
            # plain / sealed rate of each ABBA block: the spread the ratio comes with.
            "block_ratios": _block_ratios(phases),
        },
    }]
    return [r for r in [_floor_result(floor), *results] if ctx.wants(r["name"])]


def _block_ratios(phases: list[tuple[str, float]]) -> list[float]:
    out = []
    for i in range(0, len(phases) - 3, 4):
        rates = {"plain": 0.0, "sealed": 0.0}
        for kind, rate in phases[i:i + 4]:
            rates[kind] += rate
        out.append(round(rates["plain"] / rates["sealed"], 3) if rates["sealed"] else None)
    return out
