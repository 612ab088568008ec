#!/usr/bin/env python3
"""What V8 compiles, and the compiler memory each function takes, when Envoy loads the gatepass
filter (not a test).

Envoy runs V8 with Liftoff off, and its V8 then compiles every function of the module with
TurboFan as soon as it loads it, on several threads, whether the function ever runs or not
(`bench/envoy_compile.py` shows it in Envoy itself). Envoy's allocator keeps much of the memory
the compiler took, and the compiler's memory for one function grows faster than the function,
so the filter's largest functions, as V8 compiles them (V8 inlines small callees), set most of
its RSS over a do-nothing filter (README, "Size and memory of the Envoy filter"). This compiles
the shipped filter the same way in Deno's V8 (a version close to Envoy's; `--no-liftoff
--no-wasm-lazy-compilation`) under a minimal proxy-wasm host (bench/v8/proxy-wasm-host.mjs),
with V8's --trace-wasm-compilation-times, on the Envoy bench's provider config, and prints the
functions compiled, their wasm and machine-code bytes, the compiler's memory ("zone": the most
one function held at once, and all it allocated), and the functions that took the most.

  bash scripts/build-filter.sh && .venv/bin/python bench/v8_compile.py [--top N]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import envoy_bench as eb  # noqa: E402

DENO = ROOT / "node-binding" / "node_modules" / ".bin" / "deno"
WASM_OPT = ROOT / "filter" / "node_modules" / ".bin" / "wasm-opt"
CARGO_OUT = ROOT / "target" / "wasm32-wasip1" / "filter" / "gatepass_filter.wasm"
TRACE = re.compile(
    r"#(\d+) using TurboFan, took \S+ \S+ and (\d+) / (\d+) max/total bytes; bodysize (\d+) codesize (\d+)"
)


def leb(b: bytes, i: int) -> tuple[int, int]:
    r = s = 0
    while True:
        x = b[i]
        i += 1
        r |= (x & 0x7F) << s
        s += 7
        if x < 0x80:
            return r, i


def function_names(b: bytes) -> dict[int, str]:
    """Function index → name, from the module's name section (imports counted)."""
    i, names = 8, {}
    while i < len(b):
        section, i = b[i], i + 1
        size, i = leb(b, i)
        end = i + size
        if section == 0:
            n, j = leb(b, i)
            if b[j : j + n] == b"name":
                j += n
                while j < end:
                    sub, j = b[j], j + 1
                    sub_size, j = leb(b, j)
                    if sub == 1:
                        count, k = leb(b, j)
                        for _ in range(count):
                            idx, k = leb(b, k)
                            n, k = leb(b, k)
                            names[idx] = b[k : k + n].decode("utf-8", "replace")
                            k += n
                    j += sub_size
        i = end
    return names


def demangle(name: str) -> str:
    """Rust's legacy mangling (`_ZN...E`), enough to read: paths joined with `::`, no hash."""
    if not name.startswith("_ZN"):
        return name
    parts, i = [], 3
    while i < len(name) and name[i].isdigit():
        j = i
        while name[j].isdigit():
            j += 1
        n = int(name[i:j])
        parts.append(name[j : j + n])
        i = j + n
    if parts and re.fullmatch(r"h[0-9a-f]{16}", parts[-1]):
        parts.pop()
    out = "::".join(parts)
    for a, b in (("$LT$", "<"), ("$GT$", ">"), ("$u20$", " "), ("$RF$", "&"), ("$C$", ","), ("$BP$", "*"), ("..", "::")):
        out = out.replace(a, b)
    return out[1:] if out.startswith("_<") else out


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--top", type=int, default=12, help="functions listed (12)")
    args = p.parse_args(argv)
    if not CARGO_OUT.exists():
        sys.exit(f"{CARGO_OUT} missing: run `bash scripts/build-filter.sh` first")
    if not DENO.exists():
        sys.exit(f"{DENO} missing: run `(cd node-binding && npm ci)` (the npm package's dev dependencies)")
    work = Path(tempfile.mkdtemp(prefix="gatepass-v8-"))
    # The shipped build with its names kept (wasm-opt's names section changes no code).
    flags = subprocess.run(
        ["bash", str(ROOT / "scripts" / "build-filter.sh"), "--wasm-opt-flags"], capture_output=True, text=True, check=True
    ).stdout.split()
    named = work / "filter.named.wasm"
    subprocess.run([str(WASM_OPT), *[f for f in flags if f != "--strip-debug"], "-g", str(CARGO_OUT), "-o", str(named)], check=True)
    names = function_names(named.read_bytes())
    config = work / "config.json"
    config.write_text(json.dumps(eb.gatepass_config()))
    ctx = eb.prepare(argparse.Namespace(tokens=None, workdir=work, wasm=None, noop_wasm=None), ["gatepass"])
    run = subprocess.run(
        [str(DENO), "run", "-A", "--v8-flags=--no-liftoff,--no-wasm-lazy-compilation,--trace-wasm-compilation-times",
         str(ROOT / "bench" / "v8" / "proxy-wasm-host.mjs"), str(named), str(config), ctx["token"]],
        capture_output=True, text=True, check=True,
    )
    print(run.stderr.strip())
    rows = []
    for line in run.stdout.splitlines():
        m = TRACE.search(line)
        if m:
            idx, zone_max, zone_total, body, code = map(int, m.groups())
            rows.append((zone_max, zone_total, body, code, demangle(names.get(idx, f"#{idx}"))))
    if not rows:
        sys.exit("v8_compile.py: V8 printed no compilation trace")
    rows.sort(reverse=True)
    summary = {
        "functions": len(rows),
        "wasm_bytes": sum(r[2] for r in rows),
        "code_bytes": sum(r[3] for r in rows),
        "zone_largest_mib": round(rows[0][0] / 2**20, 1),
        "zone_total_mib": round(sum(r[1] for r in rows) / 2**20, 1),
        "functions_over_4_mib": sum(1 for r in rows if r[0] > 4 * 2**20),
    }
    print(
        f"{summary['functions']} functions compiled, {summary['wasm_bytes']:,} bytes of wasm -> "
        f"{summary['code_bytes']:,} bytes of machine code; compiler memory: {summary['zone_largest_mib']} MiB "
        f"at most for one function ({summary['functions_over_4_mib']} functions above 4 MiB), "
        f"{summary['zone_total_mib']} MiB allocated in all"
    )
    print("  zone (most)   total     wasm    code  function")
    for most, total, body, code, name in rows[: args.top]:
        print(f"  {most / 2**20:5.1f} MiB {total / 2**20:6.1f} MiB {body:7,} {code:7,}  {name[:110]}")
    print("\n" + json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
