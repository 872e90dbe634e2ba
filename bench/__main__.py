"""python -m bench [--quick] [--only NAME|GROUP] [--database sqlite|postgresql]

Prints one JSON object per line per benchmark:
{"name", "value", "unit", "baseline", "ratio", "n", "detail"}; ratio > 1 means
the protected path is slower than its plaintext baseline.

Django is set up once per process, so each group of benchmarks runs in its own
subprocess (`python -m bench.one`) on a fresh instance; this process only
relays their lines. A group shares one instance when its benchmarks need the
same expensive data: the population that `demo_generate` builds is the one the
three searches run against (generating 1,000,000 patients three times would
triple the run for nothing).
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

# Group name -> benchmarks it prints, in order.
GROUPS = {
    "intake": ["stack_floor", "intake"],
    "search": ["demo_generate", "search_nir_p95", "search_name_dob_p95", "search_name_p95"],
    "journal_verify": ["journal_verify"],
    "export": ["export_500k"],
    "breach_scan": ["breach_scan"],
    "import_500k": ["import_500k"],
    "alerts_lag": ["alerts_lag", "watch_cost"],
    "interop": ["interop_throughput", "interop_lag_p95"],
    "fhir": ["fhir_read_p95", "fhir_search_p95"],
    "latency": ["latency_search_form", "latency_search", "latency_registration_form",
                "latency_registration", "latency_request_entry_form", "latency_request_entry",
                "latency_labels", "latency_floor"],
}
BENCHMARKS = [name for names in GROUPS.values() for name in names]
ROOT = Path(__file__).resolve().parent.parent


def _load() -> list[float]:
    return list(os.getloadavg())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, under 3 minutes")
    parser.add_argument("--only", choices=sorted({*BENCHMARKS, *GROUPS}), action="append",
                        help="run only these benchmarks, or every benchmark of these groups")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args(argv)

    from bench.env import machine

    # A name that is a benchmark means that benchmark (several groups share their name
    # with their main one); otherwise a group's name means all of its benchmarks.
    wanted = {n for name in args.only or BENCHMARKS
              for n in ([name] if name in BENCHMARKS else GROUPS[name])}
    started = time.time()
    print(json.dumps({"machine": machine(), "database": args.database, "quick": args.quick,
                      "loadavg_before": _load(), "date": time.strftime("%Y-%m-%d %H:%M:%S")}),
          flush=True)
    failed = False
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    for group, names in GROUPS.items():
        chosen = [n for n in names if n in wanted]
        if not chosen:
            continue
        cmd = [sys.executable, "-m", "bench.one", group, "--database", args.database,
               *(["--quick"] if args.quick else []), *[f"--only={n}" for n in chosen]]
        proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True,
                              check=False)
        printed = set()
        for line in proc.stdout.splitlines():
            try:
                result = json.loads(line)
            except ValueError:
                continue  # stray output of a library: not ours to relay
            if isinstance(result, dict) and result.get("name") in chosen:
                printed.add(result["name"])
                failed |= "error" in result
                print(json.dumps(result), flush=True)
        for name in chosen:
            if name not in printed:
                failed = True
                print(json.dumps({"name": name,
                                  "error": f"bench.one {group} exited {proc.returncode} "
                                           "without a result"}), flush=True)
    print(json.dumps({"elapsed_s": round(time.time() - started, 1),
                      "loadavg_after": _load()}), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
