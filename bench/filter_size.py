#!/usr/bin/env python3
"""Size, memory and speed of the Envoy filter under each build setting (not a test).

Run it through `bash bench/filter-size.sh [ARGS]` (installs wrk, Envoy and binaryen first).

For every setting below, the filter is built into target/filter-size/SETTING.wasm (each setting
is its own cargo profile, so switching between them rebuilds nothing twice), and then measured
with the Envoy bench's own contenders (bench/envoy_bench.py), interleaved over `--rounds`:

  * RSS over a do-nothing wasm filter: Envoy's VmRSS with `--concurrency 2` after a short run of
    the repeated-token contender, less the same for `noop_wasm` (bench/noop-filter.wat); the
    median over the rounds. Nearly all of it is there as soon as Envoy has loaded the module:
    Envoy turns Liftoff off, and its V8 then compiles every function of the module with
    TurboFan at load, and much of what the compiler took from the allocator, most for the
    largest functions, stays in Envoy's heap (bench/envoy_compile.py, bench/v8_compile.py).
  * req/s and Envoy CPU µs per request, `--concurrency 1`: the repeated-token contender
    (`gatepass`, cache hits) and a fresh token per request for EdDSA (`gatepass_fresh`) and
    ES256 (`gatepass_fresh_es256`); add RS256 with `--algs EdDSA,ES256,RS256`.

Settings (`--settings` picks a subset, in this order):

  baseline            the release profile alone (opt-level 3, LTO, debuginfo stripped): the
                      filter as it was built before it had a profile of its own
  z                   opt-level "z", strip = true
  z_wasm_opt          opt-level "z", then binaryen's `wasm-opt -Oz`
  z_crypto3           opt-level "z" except the crypto crates (CRYPTO_CRATES) at 3, strip = true
  z_crypto3_wasm_opt  the same, then `wasm-opt -Oz`
  filter_all_exports  the `filter` profile, then wasm-opt as shipped except that the ABI
                      callbacks the filter never uses are kept (what removing them drops)
  filter_sha2_z       the `filter` profile with sha2 at "z", then wasm-opt as shipped
  filter_ed25519_3    the `filter` profile with ed25519-dalek at 3, then wasm-opt as shipped
  filter_crypto3      the `filter` profile with gatepass-crypto at 3, then wasm-opt as shipped
  filter              what ships: `scripts/build-filter.sh` (the `filter` profile of Cargo.toml,
                      then wasm-opt with that script's flags)

The RSS and .wasm size do not depend on the machine's load; req/s does (±10-20 % between runs on
a shared 2-core VM), Envoy's CPU µs per request less so.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import envoy_bench as eb  # noqa: E402
import harness  # noqa: E402  (put on sys.path by envoy_bench)

WASM_OPT = ROOT / "filter" / "node_modules" / ".bin" / "wasm-opt"  # binaryen (filter/package.json)
OUT = ROOT / "target" / "filter-size"

# The crates the signatures run on (every algorithm's), gatepass-crypto included: what "crypto
# crates at opt-level 3" means below.
CRYPTO_CRATES = [
    "gatepass-crypto",
    "curve25519-dalek",
    "ed25519-dalek",
    "sha2",
    "p256",
    "p384",
    "p521",
    "primeorder",
    "elliptic-curve",
    "ecdsa",
    "crypto-bigint",
    "rsa",
    "num-bigint-dig",
]
Z = ['opt-level="z"']
STRIP = ["strip=true"]
CRYPTO3 = [f"package.{c}.opt-level=3" for c in CRYPTO_CRATES]
# `wasm-opt` reads the wasm features from the target_features section that `strip = true`
# removes, so the settings that run it keep the release profile's `strip = "debuginfo"`
# (wasm-opt writes no names section unless asked to).
WASM_OPT_OZ = ["-Oz"]


def shipped_wasm_opt_flags(*, remove_exports: bool = True) -> list[str]:
    """scripts/build-filter.sh's wasm-opt flags (one source for them); optionally without the
    removal of the ABI callbacks the filter never uses."""
    out = subprocess.run(
        ["bash", str(ROOT / "scripts" / "build-filter.sh"), "--wasm-opt-flags"], capture_output=True, text=True, check=True
    ).stdout.split("\n")
    flags = [f for f in out if f]
    if not remove_exports:
        flags = [f for f in flags if f != "--remove-exports" and not f.startswith("--pass-arg=remove-exports@")]
    return flags


@dataclass
class Setting:
    name: str
    label: str
    profile: list[str]  # `profile.size-NAME.*` entries over `inherits = BASE`
    # None: cargo's output as it is; []: scripts/build-filter.sh's flags; ["keep-exports"]: the
    # same without removing the unused callbacks
    wasm_opt: list[str] | None = None
    base: str = "release"  # the profile it inherits (with no entries: that profile itself)


SETTINGS = [
    Setting("baseline", "release profile (opt-level 3, LTO): before", []),
    Setting("z", 'opt-level "z" + strip', Z + STRIP),
    Setting("z_wasm_opt", 'opt-level "z" + strip + `wasm-opt -Oz`', Z, WASM_OPT_OZ),
    Setting("z_crypto3", 'opt-level "z" + strip, crypto crates at 3', Z + STRIP + CRYPTO3),
    Setting("z_crypto3_wasm_opt", 'opt-level "z", crypto crates at 3, + `wasm-opt -Oz`', Z + CRYPTO3, WASM_OPT_OZ),
    Setting(
        "filter_all_exports",
        "`filter` profile + wasm-opt as shipped, but keeping the callbacks the filter never uses",
        [],
        ["keep-exports"],
        "filter",
    ),
    Setting(
        "filter_sha2_z",
        '`filter` profile with sha2 at "z", + wasm-opt as shipped',
        ['package.sha2.opt-level="z"'],
        [],
        "filter",
    ),
    Setting(
        "filter_ed25519_3",
        "`filter` profile with ed25519-dalek at 3, + wasm-opt as shipped",
        ["package.ed25519-dalek.opt-level=3"],
        [],
        "filter",
    ),
    Setting(
        "filter_crypto3",
        "`filter` profile with gatepass-crypto at 3, + wasm-opt as shipped",
        ["package.gatepass-crypto.opt-level=3"],
        [],
        "filter",
    ),
    Setting(
        "filter_p384_s",
        '`filter` profile with p384 at "s" (smaller than "z" for it), + wasm-opt as shipped',
        ['package.p384.opt-level="s"'],
        [],
        "filter",
    ),
    Setting(
        "filter_sha2_s_p384_s",
        '`filter` profile with sha2 and p384 at "s", + wasm-opt as shipped',
        ['package.sha2.opt-level="s"', 'package.p384.opt-level="s"'],
        [],
        "filter",
    ),
    Setting("filter", "`filter` profile + wasm-opt as shipped (`scripts/build-filter.sh`)", [], [], "filter"),
]
BY_NAME = {s.name: s for s in SETTINGS}


def build(s: Setting) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    out = OUT / f"{s.name}.wasm"
    if s.name == "filter":
        subprocess.run(["bash", str(ROOT / "scripts" / "build-filter.sh")], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        shutil.copyfile(harness.WASM_PATH, out)
        return out
    cmd = ["cargo", "build", "-q", "-p", "gatepass-filter", "--target", "wasm32-wasip1"]
    if not s.profile:
        cmd += ["--profile", s.base]
        built = ROOT / "target" / "wasm32-wasip1" / s.base / "gatepass_filter.wasm"
    else:
        profile = f"size-{s.name.replace('_', '-')}"
        cmd += ["--config", f'profile.{profile}.inherits="{s.base}"']
        for entry in s.profile:
            cmd += ["--config", f"profile.{profile}.{entry}"]
        cmd += ["--profile", profile]
        built = ROOT / "target" / "wasm32-wasip1" / profile / "gatepass_filter.wasm"
    print(f"building {s.name}: {' '.join(cmd[2:])}", flush=True)
    subprocess.run(cmd, cwd=ROOT, check=True, stdin=subprocess.DEVNULL)
    if s.wasm_opt is None:
        shutil.copyfile(built, out)
    else:
        if not os.access(WASM_OPT, os.X_OK):
            sys.exit(f"filter_size.py: {WASM_OPT} missing: run `bash scripts/setup.sh`")
        flags = s.wasm_opt
        if not flags or flags == ["keep-exports"]:
            flags = shipped_wasm_opt_flags(remove_exports=not flags)
        subprocess.run([str(WASM_OPT), *flags, str(built), "-o", str(out)], check=True, stdin=subprocess.DEVNULL)
    return out


def bench_args(args: argparse.Namespace, wasm: Path, *, concurrency: int, duration: float, warmup: float) -> argparse.Namespace:
    return argparse.Namespace(
        wasm=wasm,
        noop_wasm=args.noop_wasm,
        workdir=args.workdir,
        concurrency=concurrency,
        duration=duration,
        warmup=warmup,
        connections=16,
        threads=1,
        tokens=args.tokens,
    )


def run(c: eb.Contender, a: argparse.Namespace, ctx: dict[str, Any]) -> eb.Outcome:
    try:
        o = eb.run_contender(c, a, ctx)
    except (eb.BenchError, harness.EnvoyStartError, RuntimeError, OSError, subprocess.TimeoutExpired) as e:
        o = eb.Outcome(c, problems=[f"FAILED: {e}"])
    if o.problems:
        print(f"    {c.name}: {'; '.join(o.problems)}", file=sys.stderr, flush=True)
    return o


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--settings", default=",".join(s.name for s in SETTINGS), help="comma-separated subset")
    p.add_argument("-d", "--duration", type=float, default=3.0, help="measured seconds per speed run (3)")
    p.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds per speed run (1)")
    p.add_argument("--rounds", type=int, default=3, help="rounds, interleaved over the settings; medians (3)")
    p.add_argument("--algs", default="EdDSA,ES256", help="fresh-token algorithms (EdDSA,ES256; also RS256)")
    p.add_argument("--tokens", type=int, help="fresh tokens per algorithm (envoy_bench.py's defaults)")
    p.add_argument("--no-build", action="store_true", help="measure the .wasm files already in target/filter-size")
    p.add_argument("--workdir", type=Path, default=ROOT / "target" / "bench-filter-size")
    args = p.parse_args(argv)

    settings = [BY_NAME[n.strip()] for n in args.settings.split(",") if n.strip()]
    fresh = {"EdDSA": "gatepass_fresh", "ES256": "gatepass_fresh_es256", "RS256": "gatepass_fresh_rs256"}
    algs = [a.strip() for a in args.algs.split(",") if a.strip()]
    speed = [eb.BY_NAME["gatepass"]] + [eb.BY_NAME[fresh[a]] for a in algs]

    wasm = {s.name: (OUT / f"{s.name}.wasm" if args.no_build else build(s)) for s in settings}
    args.workdir.mkdir(parents=True, exist_ok=True)
    args.noop_wasm = eb.assemble_noop(args.workdir)
    ctx = eb.prepare(args, [c.name for c in speed])

    noop: list[eb.Outcome] = []
    mem: dict[str, list[eb.Outcome]] = {s.name: [] for s in settings}
    runs: dict[tuple[str, str], list[eb.Outcome]] = {(s.name, c.name): [] for s in settings for c in speed}
    for round_ in range(1, args.rounds + 1):
        print(f"round {round_}/{args.rounds}", flush=True)
        a = bench_args(args, wasm[settings[0].name], concurrency=2, duration=1, warmup=0)
        noop.append(run(eb.BY_NAME["noop_wasm"], a, ctx))
        for s in settings:
            a = bench_args(args, wasm[s.name], concurrency=2, duration=1, warmup=0)
            mem[s.name].append(run(eb.BY_NAME["gatepass"], a, ctx))
            a = bench_args(args, wasm[s.name], concurrency=1, duration=args.duration, warmup=args.warmup)
            for c in speed:
                runs[(s.name, c.name)].append(run(c, a, ctx))
            print(
                f"  {s.name}: RSS {mem[s.name][-1].rss_kib / 1024:.1f} MiB, "
                + ", ".join(f"{c.name} {runs[(s.name, c.name)][-1].rps:,.0f} req/s" for c in speed),
                flush=True,
            )

    def median(values: list[float]) -> float:
        return statistics.median(values) if values else 0.0

    noop_rss = median([o.rss_kib for o in noop if o.result])
    heads = ["setting", ".wasm bytes", "RSS over do-nothing, 2 workers"]
    heads += ["repeated token" if c.name == "gatepass" else f"fresh {c.alg}" for c in speed]
    rows = []
    results: dict[str, Any] = {"noop_rss_kib": noop_rss, "rounds": args.rounds, "settings": {}}
    problems = False
    for s in settings:
        rss = median([o.rss_kib for o in mem[s.name] if o.result])
        row = [s.label, f"{wasm[s.name].stat().st_size:,}", f"{(rss - noop_rss) / 1024:.1f} MiB"]
        entry: dict[str, Any] = {
            "wasm_bytes": wasm[s.name].stat().st_size,
            "rss_over_noop_kib": rss - noop_rss,
            "rss_kib_runs": [o.rss_kib for o in mem[s.name]],
        }
        for c in speed:
            ok = [o for o in runs[(s.name, c.name)] if o.result and not o.problems]
            problems |= len(ok) != args.rounds
            rps, cpu = median([o.rps for o in ok]), median([o.cpu_us_per_request for o in ok])
            row.append(f"{rps:,.0f} req/s ({cpu:.0f} µs)")
            entry[c.name] = {"rps_runs": [o.rps for o in ok], "cpu_us_runs": [o.cpu_us_per_request for o in ok]}
        problems |= any(o.problems for o in mem[s.name] + noop)
        rows.append(row)
        results["settings"][s.name] = entry

    print()
    print(
        f"Envoy {eb_envoy_version()}; medians of {args.rounds} rounds; RSS: VmRSS with --concurrency 2 less the "
        f"do-nothing wasm filter's ({noop_rss / 1024:.1f} MiB); req/s: --concurrency 1, wrk -t1 -c16 "
        f"-d{args.duration:g}s (+{args.warmup:g}s warm-up), Envoy CPU µs per request in parentheses"
    )
    print("| " + " | ".join(heads) + " |")
    print("| --- | " + " | ".join("---:" for _ in heads[1:]) + " |")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    out = args.workdir / "results.json"
    out.write_text(json.dumps(results, indent=1) + "\n")
    print(f"results: {out}")
    if problems:
        print("PROBLEMS: some runs failed or were flagged (see above)", file=sys.stderr)
        return 1
    return 0


def eb_envoy_version() -> str:
    words = subprocess.run([str(harness.ENVOY_BIN), "--version"], capture_output=True, text=True).stdout.split()
    label = words[words.index("version:") + 1] if "version:" in words else ""
    return label.split("/")[1] if label.count("/") >= 2 else "?"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
