"""python -m bench.report RUN.jsonl: the Markdown table of one run for bench/RESULTS.md."""

import json
import sys

TARGETS = {
    "intake": ("registrations/s >= 300 and ratio <= 1.15",
               lambda r: r["value"] >= 300 and r["ratio"] <= 1.15),
    "search_nir_p95": ("p95 <= 15 ms", lambda r: r["value"] <= 15),
    "search_name_dob_p95": ("p95 <= 15 ms", lambda r: r["value"] <= 15),
    "search_name_p95": ("none: reported", None),
    "demo_generate": ("1,000,000 in < 600 s (>= 1667/s)", lambda r: r["value"] >= 1667),
    "journal_verify": (">= 1,000,000 entries/s", lambda r: r["value"] >= 1_000_000),
    "export_500k": ("<= 30 s", lambda r: r["value"] <= 30),
    "import_500k": ("<= 60 s for 500,000", lambda r: r["value"] <= 60),
    "breach_scan": (">= 8,200 rows/s", lambda r: r["value"] >= 8200),
}


def _figure(value, unit: str) -> str:
    # Some lines have no baseline (stack_floor is itself a reference) or no value.
    if value is None:
        return "none"
    return f"{value:,} {unit}"


def table(lines: list[dict]) -> str:
    head = next((x for x in lines if "machine" in x), {})
    tail = next((x for x in lines if "elapsed_s" in x), {})
    m = head.get("machine", {})
    out = [
        f"Date {head.get('date', '?')}; machine: {m.get('cores')} cores, {m.get('memory')}, "
        f"{m.get('cpu')}, Python {m.get('python')}; database: {head.get('database')}; "
        f"{'--quick' if head.get('quick') else 'full sizes'}; load average before "
        f"{', '.join(f'{v:.2f}' for v in head.get('loadavg_before', []))}, after "
        f"{', '.join(f'{v:.2f}' for v in tail.get('loadavg_after', []))}; "
        f"run took {tail.get('elapsed_s', '?')} s.",
        "",
        "| benchmark | N | value | baseline (plaintext) | ratio | target | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in lines:
        if "name" not in r:
            continue
        if "error" in r:
            out.append(f"| {r['name']} | | error: {r['error']} | | | | no |")
            continue
        target, check = TARGETS.get(r["name"], ("", None))
        met = "n/a" if check is None else ("yes" if check(r) else "no")
        if check is not None and (r.get("value") is None or r.get("ratio") is None):
            met = "n/a"
        n = f"{r['n']:,}" if isinstance(r.get("n"), int) else (r.get("n") or "")
        out.append(f"| {r['name']} | {n} | {_figure(r.get('value'), r.get('unit', ''))} | "
                   f"{_figure(r.get('baseline'), r.get('unit', ''))} | {r.get('ratio')} | "
                   f"{target} | {met} |")
    return "\n".join(out)


if __name__ == "__main__":
    with open(sys.argv[1]) as handle:
        print(table([json.loads(line) for line in handle if line.strip().startswith("{")]))
