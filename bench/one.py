"""python -m bench.one GROUP --database D [--quick] [--only NAME ...]: one group, one process.

Run by `python -m bench`, which relays the JSON lines printed here; a group's
module exposes `run(ctx) -> list[dict]` (one dict per benchmark it measured).
"""

import argparse
import importlib
import json
import sys
import traceback

from bench.__main__ import GROUPS


class Context:
    def __init__(self, *, quick: bool, database: str, env: dict, only: list[str]):
        self.quick = quick
        self.database = database
        self.env = env
        self.only = only

    def wants(self, name: str) -> bool:
        return name in self.only


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.one")
    parser.add_argument("group", choices=list(GROUPS))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--only", action="append")
    args = parser.parse_args(argv)
    only = args.only or GROUPS[args.group]

    from bench.env import instance

    with instance(args.database) as env:
        ctx = Context(quick=args.quick, database=args.database, env=env, only=only)
        try:
            results = importlib.import_module(f"bench.{args.group}").run(ctx)
        except Exception as exc:  # noqa: BLE001  report in the JSON line, not a traceback only
            traceback.print_exc(file=sys.stderr)
            results = [{"name": name, "error": f"{type(exc).__name__}: {exc}"} for name in only]
    for result in results:
        print(json.dumps(result), flush=True)
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
