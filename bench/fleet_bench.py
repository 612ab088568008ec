#!/usr/bin/env python3
"""What the fleet guarantee costs at the Envoy token endpoint (not a test): `private_key_jwt`
token requests per second with the client-assertion replay store in etcd (a real 3-member
cluster on loopback) against the store of one Envoy (shared data for the proxy-wasm filter, the
module's own map for the native module), each shell, interleaved rounds, medians.

  bash bench/fleet-bench.sh [--rounds 3] [--duration 5] [--etcd-dir /dev/shm]

The contenders run the shipped configs: envoy/token-endpoint.yaml (one Envoy's store) and
envoy/token-endpoint-etcd.yaml (etcd), with `--concurrency 1`, driven by `wrk -t1 -c16`: each
request a POST of a distinct ES256 client assertion (client `worker` of the demo keys, minted
before the runs, never sent twice: every run starts where the last one stopped), answered with a
freshly signed EdDSA access token. Before each run: one assertion gets 200 and the same one
again 401; after it, the Envoy's `token.issued` counter must match wrk's count and wrk must have
seen no other answer than 200. Besides req/s, the CPU time per request of Envoy and of the three
etcd members (all on this machine: on a small one they compete for the same cores).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests" / "envoy"))

import envoy_bench as eb  # noqa: E402
import harness  # noqa: E402
import tokens  # noqa: E402
from etcd import EtcdCluster  # noqa: E402

TOKEN_PATH = "/oauth/token"

# POSTs one pre-formatted assertion body per request, from the file given after `--`, starting at
# OFFSET; never wraps (a resent assertion would be a replay): past the end it stops the run.
LUA_ASSERTIONS = r"""
local reqs = {}
local n = 0
local i = 0
init = function(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  for line in io.lines(args[1]) do
    if #line > 0 then
      n = n + 1
      reqs[n] = wrk.format(nil, nil, nil, line)
    end
  end
  i = tonumber(args[2] or "0")
end
request = function()
  i = i + 1
  if i > n then
    wrk.thread:stop()
    return reqs[n]
  end
  return reqs[i]
end
"""

CONTENDERS = [
    ("filter_shared_data", "proxy-wasm filter, replay store in shared data (one Envoy)", "proxy-wasm", "token-endpoint.yaml"),
    ("filter_etcd", "proxy-wasm filter, replay store in etcd (a fleet)", "proxy-wasm", "token-endpoint-etcd.yaml"),
    ("native_local", "native module, replay store in the process (one Envoy)", "native", "token-endpoint.yaml"),
    ("native_etcd", "native module, replay store in etcd (a fleet)", "native", "token-endpoint-etcd.yaml"),
]


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("-d", "--duration", type=float, default=5.0, help="measured seconds per run (5)")
    p.add_argument("--assertions", type=int, default=150_000, help="assertions minted for all runs (150,000)")
    p.add_argument("--connections", type=int, default=16)
    p.add_argument(
        "--etcd-dir",
        type=Path,
        help="where the etcd members keep their data (default: a new directory under /tmp); etcd "
        "syncs its log to disk before it answers, so the disk's fsync time bounds the etcd rows",
    )
    args = p.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="gatepass-fleet-bench-"))
    wasm = harness.artifact("GATEPASS_FILTER_WASM", "build-filter.sh")
    so = harness.artifact("GATEPASS_NATIVE_SO", "build-native.sh")
    harness.install_native(so, work / "module")
    script = work / "assertions.lua"
    script.write_text(LUA_ASSERTIONS + eb.LUA_DONE)

    started = time.monotonic()
    lines = [tokens.assertion_form(tokens.client_assertion(lifetime=3600)) for _ in range(args.assertions)]
    bodies = work / "assertions.txt"
    bodies.write_text("\n".join(lines) + "\n")
    print(f"minted {len(lines):,} ES256 client assertions in {time.monotonic() - started:.1f} s", flush=True)
    spare = iter(tokens.assertion_form(tokens.client_assertion(lifetime=3600)) for _ in range(1_000_000))

    etcd_dir = Path(tempfile.mkdtemp(prefix="etcd-", dir=args.etcd_dir)) if args.etcd_dir else work / "etcd"
    cluster = EtcdCluster(etcd_dir, size=3).start()
    print(f"etcd: 3 members, data in {etcd_dir}", flush=True)
    ports = {f"etcd{i}": port for i, port in enumerate(cluster.client_ports)}
    cursor = 0
    results: dict[str, list[tuple[float, float, float]]] = {name: [] for name, *_ in CONTENDERS}

    def etcd_cpu() -> float:
        return sum(eb.cpu_seconds(p.pid) for p in cluster.procs if p)

    problems: list[str] = []
    try:
        for round_ in range(1, args.rounds + 1):
            for name, _label, shell, config in CONTENDERS:
                text = harness.render_shipped(config, ports=ports, wasm=wasm, shell=shell)
                envoy = harness.Envoy.start(text, work, name=name, concurrency=1, log_level="warning")
                try:
                    probe = next(spare)
                    form = {"content-type": "application/x-www-form-urlencoded"}
                    first = envoy.post(TOKEN_PATH, headers=form, body=probe, timeout=10)
                    again = envoy.post(TOKEN_PATH, headers=form, body=probe, timeout=10)
                    if (first.status, again.status) != (200, 401):
                        raise RuntimeError(f"{name}: probe answered {first.status}, then {again.status}")
                    before = envoy.counters().get("gatepass.token.issued", 0)
                    cpu0 = eb.cpu_seconds(envoy.proc.pid)
                    etcd0 = etcd_cpu()
                    r = eb.run_wrk(
                        envoy.url + TOKEN_PATH, args.duration, script, token=None, tokens_file=bodies,
                        threads=1, conns=args.connections, offset=cursor,
                    )  # fmt: skip
                    cpu = eb.cpu_seconds(envoy.proc.pid) - cpu0
                    etcd = etcd_cpu() - etcd0
                    issued = envoy.counters().get("gatepass.token.issued", 0) - before
                finally:
                    envoy.stop()
                cursor += r.requests + args.connections
                if cursor >= args.assertions:
                    problems.append(f"{name}: ran out of assertions (raise --assertions)")
                if r.non2xx or r.socket_errors or abs(issued - r.requests) > args.connections:
                    problems.append(f"{name}: {r.non2xx} non-2xx, {r.socket_errors} socket errors, issued {issued} of {r.requests}")
                per = 1e6 / max(1, r.requests)
                results[name].append((r.rps, cpu * per, etcd * per))
                print(
                    f"round {round_} {name}: {r.rps:,.0f} req/s, {cpu * per:,.0f} µs Envoy CPU and "
                    f"{etcd * per:,.0f} µs etcd CPU (3 members) per request",
                    flush=True,
                )
    finally:
        cluster.stop()

    def med(name: str, i: int) -> float:
        return statistics.median(x[i] for x in results[name])

    print(f"\nmedians of {args.rounds} rounds; wrk -t1 -c{args.connections} -d{args.duration:g}s, Envoy --concurrency 1")
    print("| contender | req/s | Envoy CPU µs/request | etcd CPU µs/request (3 members) |")
    print("| --- | ---: | ---: | ---: |")
    for name, label, *_ in CONTENDERS:
        print(f"| {label} | {med(name, 0):,.0f} | {med(name, 1):,.0f} | {med(name, 2):,.0f} |")
    for shell, local, fleet in (("proxy-wasm", "filter_shared_data", "filter_etcd"), ("native", "native_local", "native_etcd")):
        print(f"{shell}: etcd / one Envoy's store = {med(fleet, 0) / med(local, 0):.2f}x req/s")
    for problem in problems:
        print(f"PROBLEM: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
