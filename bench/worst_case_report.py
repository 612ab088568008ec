#!/usr/bin/env python3
"""Summary of `bench/worst-case.sh`: the worst adversarial/benign ratio per parser and shell.

    python3 bench/worst_case_report.py RESULTS.json... [--markdown]
    python3 bench/worst_case_report.py --callgrind DIR OUT.json   # worst_case count dumps -> rows

Each RESULTS.json is a list of rows {shell, parser, variant, stage, adversarial_us, benign_us,
ratio, bytes, cap} written by one shell (core/examples/worst_case.rs,
node-binding/bench/worst-case.mjs, bench/worst_case_envoy.py). For every parser the table shows,
per shell and stage, the worst ratio and the variant that gave it; `--markdown` prints the same
as a Markdown table (the README's "Work per request").

`--callgrind DIR OUT.json` turns the per-call dumps of `worst_case count N` under callgrind
(DIR/cg.out.1, .2, ... in the order of DIR/order.txt, N in DIR/n) into rows of shell
`core-instr`: instructions per request instead of microseconds (deterministic).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

TARGET = 3.0
PARSERS = ["token_request", "basic_header", "client_assertion", "access_token", "registration", "jwks"]
COLUMNS = [
    ("core", "whole"),
    ("core", "parse"),
    ("core-instr", "whole"),
    ("core-instr", "parse"),
    ("npm", "whole"),
    ("envoy", "whole"),
]
TITLES = {
    ("core", "whole"): "core, whole request",
    ("core", "parse"): "core, parser alone",
    ("core-instr", "whole"): "core instructions, whole",
    ("core-instr", "parse"): "core instructions, parser",
    ("npm", "whole"): "npm server (Node)",
    ("envoy", "whole"): "Envoy (CPU)",
}


def from_callgrind(directory: Path, out: Path) -> int:
    """Rows of shell `core-instr` from `worst_case count N` dumps."""
    order = (directory / "order.txt").read_text().split("\n")
    n = int((directory / "n").read_text())
    counts: dict[tuple[str, str, str], float] = {}
    for i, line in enumerate(l for l in order if l.strip()):
        parser, variant, stage = line.split()
        text = (directory / f"cg.out.{i + 1}").read_text()
        total = next(int(l.split()[1]) for l in text.splitlines() if l.startswith("totals:"))
        counts[(parser, variant, stage)] = total / n
    caps = {}
    for c in json.loads((directory / "cases.json").read_text())["cases"]:
        caps[c["parser"]] = c["cap"]
    rows = []
    for (parser, variant, stage), instr in counts.items():
        if variant == "benign":
            continue
        benign = counts[(parser, "benign", stage)]
        rows.append(
            {
                "shell": "core-instr",
                "parser": parser,
                "variant": variant,
                "stage": stage,
                "adversarial_instructions": instr,
                "benign_instructions": benign,
                "ratio": instr / benign,
                "cap": caps.get(parser, ""),
            }
        )
        print(
            f"{parser:<17} {variant:<16} {stage:<6} {instr:>13,.0f} {benign:>13,.0f} {instr / benign:>7.2f}×"
        )
    out.write_text(json.dumps(rows))
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["--callgrind"] and len(argv) == 3:
        return from_callgrind(Path(argv[1]), Path(argv[2]))
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
        columns = [c for c in COLUMNS if any(k[1:] == c for k in worst)]
        print("| parser | cap | " + " | ".join(TITLES[c] for c in columns) + " |")
        print("| --- | --- | " + " | ".join("---" for _ in columns) + " |")
        for p in parsers:
            print(f"| `{p}` | {caps[p]} | " + " | ".join(cell(p, *c) for c in columns) + " |")
    else:
        print(f"\nWorst adversarial / benign ratio per parser (target ≤ {TARGET:.0f}×; variant that gave it)")
        columns = [c for c in COLUMNS if any(k[1:] == c for k in worst)]
        widths = [17] + [28] * len(columns)
        print("".join(h.ljust(w) for h, w in zip(["parser"] + [TITLES[c] for c in columns], widths)))
        for p in parsers:
            print("".join(v.ljust(w) for v, w in zip([p] + [cell(p, *c) for c in columns], widths)))
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
