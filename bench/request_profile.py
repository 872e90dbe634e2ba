"""Where one request's time goes, in process: middleware by middleware, queries by purpose.

python -m bench.request_profile [--database sqlite|postgresql] [-n 200]
(BENCH_N: patients already in the lab, on both paths; default 2,000)

Not a benchmark of `python -m bench` (no server, no concurrency): a table for
bench/RESULTS.md (issue 25, item 2). On a throwaway instance (bench/env.py) one
logged-in front-office member (password + TOTP through the real login pages,
CSRF enforced) sends N of each request: the floor page by GET and POST, and the
two registration POSTs of the plaintext twin and of the sealed path.

- Middleware: a timing marker sits between every two middlewares of the real
  settings, so a middleware's own time is what it spends before and after the
  next one; the innermost segment is the view with the process_view hooks.
- Queries: counted and timed with connection.execute_wrapper, each filed under
  the product function that sent it (session, user, device, membership...).
- Inside the view: cProfile in a second pass, its shares applied to the first
  pass's unprofiled mean.
Like Django's request handler, connections are checked (CONN_HEALTH_CHECKS)
before each request.
"""

import argparse
import cProfile
import gc
import inspect
import itertools
import json
import os
import pstats
import sys
import time
from collections import defaultdict

# CPU time of this process: on a shared machine wall time is mostly waiting for a core.
# (On PostgreSQL the server's CPU is elsewhere: queries are timed by the wall clock.)
CLOCK = time.process_time
EVENTS: list[tuple[int, str, float]] = []
MARKERS: list = []


class Marker:
    """A middleware that only notes when a request passes it, in and out."""

    def __init__(self, get_response):
        self.get_response = get_response
        MARKERS.append(self)  # Django builds the chain from the inside out

    def __call__(self, request):
        EVENTS.append((id(self), "in", CLOCK()))
        response = self.get_response(request)
        EVENTS.append((id(self), "out", CLOCK()))
        return response


MARKER = "bench.request_profile.Marker"

# (label, file fragment, function name): first match from the innermost frame up.
QUERY_PURPOSES = [
    ("health check", "base/base.py", "is_usable"),
    ("session read", "session_store.py", "load"),
    ("session write", "sessions/backends/db.py", "save"),
    ("user", "contrib/auth/__init__.py", "get_user"),
    ("second-factor device", "django_otp/middleware.py", "_verify_user_sync"),
    ("session record (liveness)", "web/sessions.py", "record_is_live"),
    ("session record (touch)", "web/sessions.py", "touch"),
    ("membership", "accounts/services.py", "primary_membership"),
    ("second-factor state", "web/middleware.py", "next_step"),
    ("journal append", "journal/services.py", "record"),
    ("menu", "web/menu.py", "items_for"),
]

# cProfile functions (file fragment, name) timed inside the request.
INSIDE = [
    ("AccessMiddleware.process_view", "web/middleware.py", "process_view"),
    ("  user load (auth.get_user)", "contrib/auth/__init__.py", "get_user"),
    ("  second-factor device (django_otp)", "django_otp/middleware.py", "_verify_user_sync"),
    ("  session limits + record liveness", "web/middleware.py", "_expired"),
    ("  login step (next_step)", "web/middleware.py", "next_step"),
    ("  activity note (sessions.touch)", "web/sessions.py", "touch"),
    ("  membership (primary_membership)", "accounts/services.py", "primary_membership"),
    ("CsrfViewMiddleware.process_view", "middleware/csrf.py", "process_view"),
    ("permission check (has_permission)", "accounts/permissions.py", "has_permission"),
    ("view (inside require_permission)", "web/decorators.py", "wrapper"),
    ("form validation (full_clean)", "django/forms/forms.py", "full_clean"),
    ("service: sealed registration", "patients/services.py", "register_patient"),
    ("service: sealed request", "orders/services.py", "create_order"),
    ("service: twin registration", "plain/services.py", "register"),
    ("service: twin request", "plain/services.py", "create_order"),
    ("journal append (journal.record)", "journal/services.py", "record"),
    ("template rendering", "template/backends/django.py", "render"),
    ("session save (SessionMiddleware.process_response)", "sessions/middleware.py",
     "process_response"),
]


def _purpose(frame) -> str:
    stack = []
    while frame is not None:
        stack.append((frame.f_code.co_filename, frame.f_code.co_name))
        frame = frame.f_back
    for label, fragment, name in QUERY_PURPOSES:
        for filename, func in stack:
            if func == name and fragment in filename:
                return label
    for filename, func in stack:
        if "/etanche/" in filename or "/bench/plain/" in filename:
            return f"other: {filename.rsplit('/', 2)[-2]}/{func}"
    return "other"


class QueryLog:
    def __init__(self):
        self.rows = []

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.rows.append((_purpose(inspect.currentframe()),
                              time.perf_counter() - started))


def _own_times(markers, events) -> dict[int, float]:
    """Per position (0 = outermost segment): time spent between marker k and k+1."""
    times = {}
    by_id = {m: [] for m in markers}
    for marker_id, kind, at in events:
        by_id[marker_id].append((kind, at))
    outer_in = {m: next(at for kind, at in by_id[m] if kind == "in") for m in markers}
    outer_out = {m: next(at for kind, at in by_id[m] if kind == "out") for m in markers}
    for k, m in enumerate(markers):
        if k + 1 < len(markers):
            nxt = markers[k + 1]
            times[k] = (outer_in[nxt] - outer_in[m]) + (outer_out[m] - outer_out[nxt])
        else:
            times[k] = outer_out[m] - outer_in[m]
    return times


def run(database: str, n: int) -> dict:
    from bench.env import instance

    with instance(database):
        return _measure(n)


def _measure(n: int) -> dict:
    from django.conf import settings
    from django.db import close_old_connections, connection
    from django.test import Client
    from django.test.utils import override_settings

    from bench import fill
    from bench import request_profile as loaded  # the copy Django imports the markers from
    from bench.intake import FLOOR, _order_form
    from bench.users import make_frontdesk
    from etanche.synthetic.people import iter_identities

    population = int(os.environ.get("BENCH_N", "0")) or 2000
    lab = fill.make_lab(expected_patients=population)
    fill.fill_sealed(lab, population, seed=1)
    fill.fill_plain(lab, population, seed=1)
    # The fill's leftovers (caches of a hundred thousand names) would make every garbage
    # collection of the measured requests walk them; a server process never holds them.
    gc.collect()
    gc.freeze()
    (username, password, code_now), = make_frontdesk(lab, 1, prefix="profile")
    real = list(settings.MIDDLEWARE)
    chain = [MARKER]
    for name in real:
        chain += [name, MARKER]
    forms = iter(fill.patient_form(p) for p in iter_identities(8 * n + 40, seed=3))
    order = _order_form()
    results = {}
    with override_settings(MIDDLEWARE=chain):
        client = Client(enforce_csrf_checks=True, HTTP_HOST="127.0.0.1")

        def forget_messages(response):
            # As bench/web.py's client: a browser shows a flash message on the page it is
            # redirected to, which consumes it. This client follows no redirect, so the
            # messages would pile up in their cookie, and every later request would decode
            # and re-sign them all: a cost no real request pays (it was filed under
            # MessageMiddleware, 3 ms a POST after a few hundred, before this).
            client.cookies.pop("messages", None)
            return response

        def post(path, data):
            close_old_connections()
            token = client.cookies["csrftoken"].value
            return forget_messages(client.post(path, {**data, "csrfmiddlewaretoken": token}))

        def get(path):
            close_old_connections()
            return forget_messages(client.get(path))

        client.get("/login/")
        step_url = post("/login/", {"username": username, "password": password})["Location"]
        assert post(step_url.split("?")[0], {"code": code_now()}).status_code == 302
        markers = [id(m) for m in reversed(loaded.MARKERS)]
        segment_names = [*real, "view + process_view hooks"]

        def registration(kind):
            prefix = "/bench/plain" if kind == "twin" else ""
            response = post(f"{prefix}/patients/nouveau/", next(forms))
            pk = response["Location"].split("/patients/")[1].split("/")[0]
            return f"{prefix}/patients/{pk}/demandes/nouvelle/"

        order_paths = {}

        def step(kind):
            if kind == "floor GET":
                return get(FLOOR)
            if kind == "floor POST":
                return post(FLOOR, {})
            if kind.endswith("registration POST"):
                flavour = kind.split()[0]
                prefix = "/bench/plain" if flavour == "twin" else ""
                response = post(f"{prefix}/patients/nouveau/", next(forms))
                assert response.status_code == 302, (kind, response.status_code)
                pk = response["Location"].split("/patients/")[1].split("/")[0]
                order_paths[flavour] = f"{prefix}/patients/{pk}/demandes/nouvelle/"
                return response
            flavour = kind.split()[0]
            path = order_paths.pop(flavour, None) or registration(flavour)
            response = post(path, order)
            assert response.status_code == 302, (kind, response.status_code)
            return response

        kinds = ["floor GET", "floor POST", "twin registration POST", "twin request POST",
                 "sealed registration POST", "sealed request POST"]
        for kind in kinds:
            for _ in range(5):  # warm caches (templates, keysets, prepared plans)
                step(kind)
        for kind in kinds:
            own = defaultdict(float)
            queries = defaultdict(lambda: [0, 0.0])
            total = 0.0  # CPU
            wall = 0.0
            pairs = kind.endswith("registration POST") or kind.endswith("request POST")
            for _ in range(n):
                if pairs and kind.endswith("request POST"):
                    flavour = kind.split()[0]
                    order_paths[flavour] = registration(flavour)
                log = QueryLog()
                loaded.EVENTS.clear()
                c0, t0 = CLOCK(), time.perf_counter()
                with connection.execute_wrapper(log):
                    step(kind)
                wall += time.perf_counter() - t0
                total += CLOCK() - c0
                for k, seconds in _own_times(markers, loaded.EVENTS).items():
                    own[segment_names[k]] += seconds
                for purpose, seconds in log.rows:
                    queries[purpose][0] += 1
                    queries[purpose][1] += seconds
            profiler = cProfile.Profile(CLOCK)
            for _ in range(max(n // 2, 10)):
                if kind.endswith("request POST"):
                    flavour = kind.split()[0]
                    order_paths[flavour] = registration(flavour)
                profiler.enable()
                step(kind)
                profiler.disable()
            stats = pstats.Stats(profiler).stats
            profiled_total = sum(tt for (_cc, _nc, tt, _ct, _callers) in stats.values())
            inside = {}
            for label, fragment, name in INSIDE:
                ct = sum(v[3] for (filename, _line, func), v in stats.items()
                         if func == name and fragment in filename)
                if ct:
                    inside[label] = round(1000 * (ct / profiled_total) * total / n, 3)
            results[kind] = {
                "n": n, "cpu_ms_per_request": round(1000 * total / n, 3),
                "wall_ms_per_request": round(1000 * wall / n, 3),
                "middleware_ms": {k: round(1000 * v / n, 3) for k, v in own.items()},
                "queries": {k: {"per_request": round(c / n, 2),
                                "ms_per_request": round(1000 * s / n, 3)}
                            for k, (c, s) in sorted(queries.items())},
                "inside_ms": inside,
            }
    results["_database"] = connection.vendor
    results["_settings"] = {"CONN_HEALTH_CHECKS": settings.DATABASES["default"].get(
        "CONN_HEALTH_CHECKS"), "CONN_MAX_AGE": settings.DATABASES["default"].get("CONN_MAX_AGE")}
    return results


def markdown(results: dict) -> str:
    kinds = [k for k in results if not k.startswith("_")]
    lines = [f"database: {results['_database']}, {results['_settings']}", "",
             "| per request (ms) | " + " | ".join(kinds) + " |",
             "|---|" + "---|" * len(kinds)]

    def row(label, values):
        lines.append(f"| {label} | " + " | ".join(values) + " |")

    row("**total CPU of the process**",
        [f"**{results[k]['cpu_ms_per_request']:.2f}**" for k in kinds])
    row("wall (load-dependent)", [f"{results[k]['wall_ms_per_request']:.2f}" for k in kinds])
    segments = list(dict.fromkeys(itertools.chain.from_iterable(
        results[k]["middleware_ms"] for k in kinds)))
    for seg in segments:
        row(f"mw: {seg.rsplit('.', 1)[-1]}",
            [f"{results[k]['middleware_ms'].get(seg, 0):.3f}" for k in kinds])
    labels = list(dict.fromkeys(itertools.chain.from_iterable(
        results[k]["inside_ms"] for k in kinds)))
    for label in labels:
        row(label.replace("  ", "&nbsp;&nbsp;"),
            [f"{results[k]['inside_ms'].get(label, 0):.3f}" if label in results[k]["inside_ms"]
             else "-" for k in kinds])
    purposes = list(dict.fromkeys(itertools.chain.from_iterable(
        results[k]["queries"] for k in kinds)))
    row("**queries: count / ms (wall)**", [
        f"**{sum(q['per_request'] for q in results[k]['queries'].values()):.1f} / "
        f"{sum(q['ms_per_request'] for q in results[k]['queries'].values()):.2f}**"
        for k in kinds])
    for purpose in purposes:
        row(f"q: {purpose}", [
            f"{results[k]['queries'][purpose]['per_request']:.1f} / "
            f"{results[k]['queries'][purpose]['ms_per_request']:.2f}"
            if purpose in results[k]["queries"] else "-" for k in kinds])
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.request_profile")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("-n", type=int, default=200)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    results = run(args.database, args.n)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=1)
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
