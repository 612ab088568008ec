#!/usr/bin/env python3
"""Summary of `bench/worst-case.sh`: the worst adversarial/benign ratio per parser and shell.

    python3 bench/worst_case_report.py RESULTS.json... [--markdown]

Each RESULTS.json is a list of rows {shell, parser, variant, stage, adversarial_us, benign_us,
ratio, bytes, cap} written by one shell (core/examples/worst_case.rs,
node-binding/bench/worst-case.mjs, bench/worst_case_envoy.py). For every parser the table shows,
per shell and stage, the worst ratio and the variant that gave it; `--markdown` prints the same
as a Markdown table (the README's "Work per request").
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

TARGET = 3.0
PARSERS = ["token_request", "basic_header", "client_assertion", "access_token", "registration", "jwks"]
COLUMNS = [("core", "whole"), ("core", "parse"), ("npm", "whole"), ("envoy", "whole")]
TITLES = {
    ("core", "whole"): "core, whole request",
    ("core", "parse"): "core, parser alone",
    ("npm", "whole"): "npm server (Node)",
    ("envoy", "whole"): "Envoy (CPU)",
}


def main(argv: list[str]) -> int:
    markdown = "--markdown" in argv
    rows = []
    for name in (a for a in argv if not a.startswith("--")):
        path = Path(name)
        if path.exists():
            rows += json.loads(path.read_text())
    if not rows:
        print("worst_case_report.py: no results", file=sys.stderr)
        return 1
    caps = {r["parser"]: r["cap"] for r in rows}
    worst: dict[tuple[str, str, str], dict] = {}
    for r in rows:
        key = (r["parser"], r["shell"], r["stage"])
        if key not in worst or r["ratio"] > worst[key]["ratio"]:
            worst[key] = r

    def cell(parser: str, shell: str, stage: str) -> str:
        r = worst.get((parser, shell, stage))
        if r is None:
            return "n/a"
        mark = "" if r["ratio"] <= TARGET else " (over)"
        return f"{r['ratio']:.2f}× {r['variant']}{mark}"

    parsers = [p for p in PARSERS if p in caps]
    over = [(p, s, st) for (p, s, st), r in worst.items() if r["ratio"] > TARGET]
    if markdown:
        print("| parser | cap | " + " | ".join(TITLES[c] for c in COLUMNS) + " |")
        print("| --- | --- | " + " | ".join("---" for _ in COLUMNS) + " |")
        for p in parsers:
            print(f"| `{p}` | {caps[p]} | " + " | ".join(cell(p, *c) for c in COLUMNS) + " |")
    else:
        print(f"\nWorst adversarial / benign ratio per parser (target ≤ {TARGET:.0f}×; variant that gave it)")
        widths = [17] + [30] * len(COLUMNS)
        print("".join(h.ljust(w) for h, w in zip(["parser"] + [TITLES[c] for c in COLUMNS], widths)))
        for p in parsers:
            print("".join(v.ljust(w) for v, w in zip([p] + [cell(p, *c) for c in COLUMNS], widths)))
        print()
        for p in parsers:
            print(f"  {p}: {caps[p]}")
        if over:
            print(f"\n{len(over)} ratio(s) over {TARGET:.0f}×: " + ", ".join(f"{p} ({s} {st})" for p, s, st in sorted(over)))
        else:
            print(f"\nEvery ratio is at most {TARGET:.0f}×.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
