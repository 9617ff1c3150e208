#!/usr/bin/env python3
"""Turn criterion's results for `cargo bench --bench pool` into BENCHMARKS.md tables and an SVG.

Usage: python3 scripts/bench_report.py [--criterion target/criterion] [--svg docs/bench-pool.svg]

Reads every `<group>/<bench>/new/{estimates,benchmark}.json` under the criterion directory,
prints one markdown table per group (median time per job, ratio to boundpool's first entry),
and writes a horizontal bar chart of time per job by candidate. Standard library only.
"""
import argparse
import json
import os
import sys
from html import escape

GROUPS = [
    "empty jobs",
    "empty jobs (thread per job)",
    "1us jobs",
    "1us jobs (thread per job)",
    "idle round trip",
    "many producers, queue 64",
    "async offload 1us jobs",
    "async offload 100us jobs",
]


def load(criterion):
    results = {}
    for root, _dirs, files in os.walk(criterion):
        if "estimates.json" not in files or os.path.basename(root) != "new":
            continue
        with open(os.path.join(root, "benchmark.json")) as f:
            meta = json.load(f)
        with open(os.path.join(root, "estimates.json")) as f:
            est = json.load(f)
        median_ns = est["median"]["point_estimate"]
        per = 1
        tp = meta.get("throughput") or {}
        if "Elements" in tp:
            per = tp["Elements"]
        name = meta["function_id"] + (f" ({meta['value_str']})" if meta.get("value_str") else "")
        results.setdefault(meta["group_id"], []).append((name, median_ns, median_ns / per))
    return results


def fmt_ns(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns:.1f} ns"


def tables(results):
    out = []
    for group in GROUPS + sorted(set(results) - set(GROUPS)):
        rows = results.get(group)
        if not rows:
            continue
        rows = sorted(rows, key=lambda r: r[2])
        base = next((r for r in rows if r[0].startswith("boundpool")), rows[0])
        out.append(f"### {group}\n")
        out.append("| candidate | median | per job | time ÷ boundpool's |")
        out.append("|---|---:|---:|---:|")
        for name, median, per_job in rows:
            out.append(f"| {name} | {fmt_ns(median)} | {fmt_ns(per_job)} | {per_job / base[2]:.2f}× |")
        out.append("")
    return "\n".join(out)


def svg(results, path):
    bars = []
    for group in GROUPS:
        for name, _median, per_job in sorted(results.get(group, []), key=lambda r: r[2]):
            bars.append((group, name, per_job))
    if not bars:
        return False
    width, row, left = 900, 22, 430
    groups = len({b[0] for b in bars})
    height = 40 + groups * (6 + row) + len(bars) * row + 20
    top = max(b[2] for b in bars)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
        f'<text x="10" y="20" font-size="15" font-weight="bold">Time per job (median, log scale; shorter is better)</text>',
    ]
    import math

    def scale(v):
        lo, hi = math.log10(1.0), math.log10(max(top, 10.0))
        return (math.log10(max(v, 1.0)) - lo) / (hi - lo) * (width - left - 90)

    y, last = 40, None
    for group, name, per_job in bars:
        if group != last:
            y += 6
            parts.append(f'<text x="10" y="{y + 12}" font-weight="bold">{escape(group)}</text>')
            y += row
            last = group
        colour = "#2a7ab0" if name.startswith("boundpool") else "#9aa4ad"
        parts.append(f'<text x="{left - 8}" y="{y + 14}" text-anchor="end">{escape(name)}</text>')
        parts.append(f'<rect x="{left}" y="{y + 3}" width="{scale(per_job):.1f}" height="{row - 6}" fill="{colour}"/>')
        parts.append(f'<text x="{left + scale(per_job) + 6:.1f}" y="{y + 14}">{escape(fmt_ns(per_job))}</text>')
        y += row
    parts.append("</svg>")
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as f:
        f.write("\n".join(parts) + "\n")
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--criterion", default="target/criterion")
    ap.add_argument("--svg", default="docs/bench-pool.svg")
    args = ap.parse_args()
    if not os.path.isdir(args.criterion):
        sys.exit(f"no criterion results in {args.criterion}: run `cargo bench --bench pool` first")
    results = load(args.criterion)
    print(tables(results))
    if svg(results, args.svg):
        print(f"chart written to {args.svg}", file=sys.stderr)


if __name__ == "__main__":
    main()
