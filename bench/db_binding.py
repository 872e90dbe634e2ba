"""Client-side against server-side parameter binding, in one process, on PostgreSQL.

python -m bench.db_binding [-n 100] [--blocks 4]   (BENCH_N: patients already in the lab)

Not a benchmark of `python -m bench`: the A/B behind settings.py's database options
(bench/RESULTS.md Run 18). On a throwaway instance, one logged-in front-office member
sends, through Django's test client and the real middleware, the sealed registration
pair (patient form, then request form), the plaintext twin's pair and the floor POST.
Blocks alternate the two ways of binding (client, server, server, client), each on a
new connection; inside a block the three kinds alternate too. Reported per pair (per
POST for the floor): the CPU of this process and of its PostgreSQL backend
(/proc/PID/stat), medians over the blocks, each block's total beside them. Both run
on this machine, so the backend's CPU is readable; the machine's other work moves
both ways alike.
"""

import argparse
import gc
import os
import statistics
import sys
import time

MODES = {
    "client": {"server_side_binding": False, "prepare_threshold": None},
    "server": {"server_side_binding": True, "prepare_threshold": 5},
}
KINDS = ("sealed", "twin", "floor")
TICKS = os.sysconf("SC_CLK_TCK")


def _backend_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def run(n: int, blocks: int) -> dict:
    from bench.env import instance

    with instance("postgresql"):
        return _measure(n, blocks)


def _measure(n: int, blocks: int) -> dict:
    from django.db import close_old_connections, connection
    from django.test import Client

    from bench import fill
    from bench.intake import FLOOR, _order_form
    from bench.users import make_frontdesk
    from etanche.synthetic.people import iter_identities

    population = int(os.environ.get("BENCH_N", "0")) or 20000
    lab = fill.make_lab(expected_patients=population)
    fill.fill_sealed(lab, population, seed=1)
    fill.fill_plain(lab, population, seed=1)
    gc.collect()
    gc.freeze()  # the fill's leftovers: see bench/request_profile.py
    (username, password, code_now), = make_frontdesk(lab, 1, prefix="binding")
    forms = iter(fill.patient_form(p) for p in iter_identities(10 * n * blocks + 500, seed=3))
    order = _order_form()
    client = Client(enforce_csrf_checks=True, HTTP_HOST="127.0.0.1")

    def post(path, data):
        close_old_connections()
        response = client.post(path, {**data, "csrfmiddlewaretoken":
                                      client.cookies["csrftoken"].value})
        client.cookies.pop("messages", None)  # as bench/request_profile.py
        return response

    def one(kind):
        if kind == "floor":
            assert post(FLOOR, {}).status_code == 302
            return
        prefix = "/bench/plain" if kind == "twin" else ""
        response = post(f"{prefix}/patients/nouveau/", next(forms))
        while response.status_code == 200:  # a likely duplicate of someone already there
            response = post(f"{prefix}/patients/nouveau/", next(forms))
        assert response.status_code == 302, response.status_code
        pk = response["Location"].split("/patients/")[1].split("/")[0]
        assert post(f"{prefix}/patients/{pk}/demandes/nouvelle/", order).status_code == 302

    def use(mode) -> int:
        connection.close()
        connection.settings_dict["OPTIONS"].update(MODES[mode])
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            return cursor.fetchone()[0]

    client.get("/login/")
    step = post("/login/", {"username": username, "password": password})["Location"]
    assert post(step.split("?")[0], {"code": code_now()}).status_code == 302
    samples = {(mode, kind): [] for mode in MODES for kind in KINDS}
    for _ in range(blocks):
        for mode in ("client", "server", "server", "client"):
            pid = use(mode)
            for kind in KINDS:  # warm: templates, keysets, and the statements to prepare
                for _ in range(5):
                    one(kind)
            for kind in (*KINDS, *reversed(KINDS)):
                count = n if kind == "floor" else n // 2
                cpu, backend = time.process_time(), _backend_cpu(pid)
                for _ in range(count):
                    one(kind)
                samples[(mode, kind)].append(
                    (1000 * (time.process_time() - cpu) / count,
                     1000 * (_backend_cpu(pid) - backend) / count))
    results = {}
    for (mode, kind), values in samples.items():
        python = statistics.median(v[0] for v in values)
        database = statistics.median(v[1] for v in values)
        totals = [round(a + b, 1) for a, b in values]
        results.setdefault(mode, {})[kind] = {
            "python_ms": round(python, 2), "database_ms": round(database, 2),
            "total_ms": round(statistics.median(totals), 2), "blocks": totals}
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.db_binding")
    parser.add_argument("-n", type=int, default=100, help="pairs per kind and block")
    parser.add_argument("--blocks", type=int, default=4)
    args = parser.parse_args(argv)
    results = run(args.n, args.blocks)
    print("| binding | kind | this process (ms) | its PostgreSQL backend (ms) | total | blocks |")
    print("|---|---|---:|---:|---:|---|")
    for mode, kinds in results.items():
        for kind, r in kinds.items():
            print(f"| {mode} | {kind} | {r['python_ms']:.2f} | {r['database_ms']:.2f} | "
                  f"{r['total_ms']:.2f} | {' '.join(map(str, r['blocks']))} |")
    for mode, kinds in results.items():
        sealed, twin, floor = (kinds[k]["total_ms"] for k in KINDS)
        print(f"{mode}: sealed/twin {sealed / twin:.3f}, sealed {sealed / (2 * floor):.2f} "
              f"floors, twin {twin / (2 * floor):.2f} floors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
