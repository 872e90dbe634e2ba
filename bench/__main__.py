"""python -m bench [--quick] [--only NAME] [--database sqlite|postgresql]

Prints one JSON object per line per benchmark:
{"name", "value", "unit", "baseline", "ratio", "n", "detail"}; ratio > 1 means
the protected path is slower than its plaintext baseline.
"""

import argparse
import importlib
import json
import sys
from dataclasses import dataclass

BENCHMARKS = ["journal_verify"]


@dataclass
class Context:
    quick: bool
    database: str
    env: dict


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, under 3 minutes")
    parser.add_argument("--only", choices=BENCHMARKS, action="append", help="run only these")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args(argv)

    from bench.env import instance, machine

    print(json.dumps({"machine": machine(), "database": args.database, "quick": args.quick}))
    failed = False
    for name in args.only or BENCHMARKS:
        # Each benchmark gets a fresh instance: no benchmark warms another's caches.
        with instance(args.database) as env:
            module = importlib.import_module(f"bench.{name}")
            try:
                result = module.run(Context(quick=args.quick, database=args.database, env=env))
            except Exception as exc:  # noqa: BLE001  report and go on with the others
                failed = True
                result = {"name": name, "error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(result), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
