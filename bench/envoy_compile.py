#!/usr/bin/env python3
"""What Envoy's V8 does when it loads a wasm filter, and what that costs in RSS (not a test).

  bash scripts/build-filter.sh && bash scripts/envoy.sh && .venv/bin/python bench/envoy_compile.py [--rounds N]

Starts Envoy (`--concurrency 2`, as the Envoy bench's RSS figure) with one wasm filter at a time
and reads, once it is ready and has idled for 1.5 s: the CPU time Envoy has used (user+system),
its RSS, and what its allocator (tcmalloc, the admin `/memory` endpoint) holds: the bytes in use
("live") and the heap it keeps without using it ("kept free": its page heap's free pages, its
per-thread and central caches), each less the same for the do-nothing filter
(bench/noop-filter.wat). The modules:

  * the do-nothing filter with generated functions added (straight-line integer code, the same
    total of ~190 KB of wasm each time, cut into functions of ~40 KB, ~10 KB or ~1 KB), either
    called once from `proxy_on_configure` or never called;
  * the shipped filter (target/envoy/gatepass_filter.wasm) with the Envoy bench's configuration.

What it shows (README, "Size and memory of the Envoy filter"): functions that never run cost the
same CPU and RSS at load as functions that run, so V8 compiles the whole module when Envoy loads
it (Envoy turns Liftoff off, and its V8 then compiles every function with TurboFan, on several
threads); and for the same bytes of wasm, large functions cost far more RSS than small ones,
because the compiler's memory for one function grows faster than the function, and Envoy's
allocator keeps what the compiler took: for the shipped filter, most of its RSS is heap that
tcmalloc keeps free after the compilation, not memory in use.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests" / "envoy"))

import envoy_bench as eb  # noqa: E402
import harness  # noqa: E402

FILTER = ROOT / "target" / "envoy" / "gatepass_filter.wasm"
TOTAL_STEPS = 5400  # ~190 KB of wasm in all, whatever the function size
CONFIGURE = '(func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))'


def function(name: str, steps: int, seed: int) -> str:
    """A function of ~36 bytes of wasm per step: a chain of adds, multiplies and branches that
    V8 cannot fold away."""
    body = ["(local $a i32) (local $b i32) (local $c i32) (local.set $b (local.get $p))"]
    for i in range(steps):
        body.append(f"(local.set $a (i32.add (local.get $a) (i32.mul (local.get $b) (i32.const {i * 7 + seed}))))")
        body.append(
            f"(if (i32.gt_u (local.get $a) (i32.const {i * 13 + seed}))"
            " (then (local.set $b (i32.xor (local.get $b) (local.get $c))))"
            " (else (local.set $c (i32.rotl (local.get $c) (local.get $a)))))"
        )
    return f"(func ${name} (param $p i32) (result i32) {' '.join(body)} (local.get $a))"


def synthetic(workdir: Path, count: int, called: bool) -> Path:
    """The do-nothing filter plus `count` generated functions of TOTAL_STEPS/count steps each."""
    wat = eb.NOOP_WAT.read_text()
    if CONFIGURE not in wat:
        sys.exit(f"envoy_compile.py: {eb.NOOP_WAT} no longer has {CONFIGURE!r}")
    steps = TOTAL_STEPS // count
    funcs = "\n".join(function(f"g{k}", steps, k) for k in range(count))
    calls = " ".join(f"(drop (call $g{k} (local.get 0)))" for k in range(count)) if called else ""
    configure = CONFIGURE.replace("(i32.const 1))", f"{calls} (i32.const 1))")
    name = f"{count}-{'called' if called else 'dead'}"
    src = workdir / f"{name}.wat"
    src.write_text(wat.replace(CONFIGURE, configure + "\n" + funcs))
    out = workdir / f"{name}.wasm"
    subprocess.run([str(eb.WASM_AS), str(src), "-o", str(out)], check=True, stdin=subprocess.DEVNULL)
    return out


MIB = 2**20


def load(filters: list[dict], workdir: Path) -> tuple[float, float, float, float]:
    """(CPU seconds, RSS MiB, live heap MiB, heap kept free MiB) of an Envoy with `filters`, 1.5 s
    after it is ready."""
    envoy = harness.Envoy.start(
        harness.bootstrap(http_filters=filters), workdir, name="compile", concurrency=2, log_level="warning"
    )
    try:
        time.sleep(1.5)
        cpu, rss = eb.cpu_seconds(envoy.proc.pid), eb.proc_status(envoy.proc.pid)["VmRSS"] / 1024
        # Envoy's allocator: `heap_size` is what tcmalloc took from the system, `allocated` what
        # is in use; the rest it keeps for later (free pages, thread and central caches).
        memory = {k: int(v) for k, v in json.loads(envoy.admin("/memory")).items()}
        live = memory["allocated"] / MIB
        kept = (memory["heap_size"] - memory["pageheap_unmapped"] - memory["allocated"]) / MIB
        return cpu, rss, live, kept
    finally:
        envoy.stop()


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=2, help="Envoy starts per module, interleaved (2)")
    args = p.parse_args(argv)
    if not FILTER.exists():
        sys.exit(f"{FILTER} missing: run `bash scripts/build-filter.sh` first")
    work = Path(tempfile.mkdtemp(prefix="gatepass-compile-"))
    noop = eb.assemble_noop(work)
    modules: list[tuple[str, Path, dict]] = [("do-nothing filter", noop, eb.noop_filter(noop))]
    for count, label in ((5, "~40 KB"), (20, "~10 KB"), (200, "~1 KB")):
        for called in (True, False) if count == 5 else (False,):
            wasm = synthetic(work, count, called)
            what = f"+ {count} functions of {label}, {'called at configure' if called else 'never called'}"
            modules.append((what, wasm, eb.noop_filter(wasm)))
    modules.append(("gatepass filter (target/envoy), Envoy bench config", FILTER, eb.gatepass_filter(FILTER)))
    results: dict[str, list[tuple[float, float, float, float]]] = {m[0]: [] for m in modules}
    for _ in range(args.rounds):
        for what, _wasm, filt in modules:
            results[what].append(load([filt], work))

    def median(what: str, i: int) -> float:
        return statistics.median(r[i] for r in results[what])

    base = [median(modules[0][0], i) for i in range(4)]
    print(f"medians of {args.rounds} Envoy starts each, --concurrency 2, over the do-nothing filter")
    print(f"{'module':60} {'wasm bytes':>10} {'CPU at load':>12} {'RSS':>10} {'heap: live':>11} {'kept free':>10}")
    for what, wasm, _filt in modules:
        cpu, rss, live, kept = (median(what, i) - base[i] for i in range(4))
        print(
            f"{what:60} {wasm.stat().st_size:>10,} {cpu:>+10.2f} s {rss:>+7.1f} MiB {live:>+7.1f} MiB {kept:>+6.1f} MiB"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
