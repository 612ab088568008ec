#!/usr/bin/env python3
"""Load soak: Envoy (2 workers) with gatepass serving the token endpoint and enforcing its
tokens, driven at a sustained rate for several minutes with a mix of token issuance and
enforcement, then the replay race repeated. Run through `scripts/soak.sh` (it builds the filter
or the native module and installs Envoy); standard library + the Envoy test harness.

    scripts/soak.sh [seconds] [requests-per-second] [--shell proxy-wasm|native]
                                                  (defaults 300 s, 200 req/s, proxy-wasm)

`--shell native` runs the native module (target/native/libgatepass.so, or $GATEPASS_NATIVE_SO)
instead of the proxy-wasm filter, with the same configuration.

Every request has one right answer, checked as it comes back:

    token, client_secret_basic                  200 + a token          (5 %)
    token, private_key_jwt (fresh assertion)    200 + a token          (3 %)
    token, an assertion already used            401 invalid_client     (1 %)
    token, wrong secret                         401 invalid_client     (1 %)
    GET /orders with a recent token             200 (reaches upstream) (70 %)
    POST /orders with an orders:read token      403 insufficient_scope (10 %)
    GET /orders with a token signed by another key, or a tampered one    401 (10 %)

Envoy's memory (RSS from /proc and `server.memory_allocated`) is sampled every 10 s; "after
warm-up" is the first sample past 20 % of the run. The replay race: one fresh assertion sent by
8 threads at once over new connections (spread over both workers), 100 times; exactly one 200
each time.

Prints a summary and writes it as JSON (--json PATH). Exits 1 on any 5xx, any wrong answer, a
race round without exactly one success, or memory after warm-up growing by more than 10 % and
8 MiB.
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "envoy"))

import harness  # noqa: E402
import tokens  # noqa: E402
from test_token_endpoint import BILLING_SECRET, basic, server_config, token_bootstrap  # noqa: E402

TOKEN_PATH = "/oauth/token"
FORM = {"content-type": "application/x-www-form-urlencoded"}


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Soak:
    def __init__(self, envoy: harness.Envoy):
        self.envoy = envoy
        self.lock = threading.Lock()
        self.counts: collections.Counter = collections.Counter()
        self.wrong: list[str] = []
        self.five_xx = 0
        self.tokens: list[str] = []  # recent valid tokens (orders:read, and the worker's read+write)
        self.used_assertions: list[str] = []
        self.attacker, _ = tokens.new_key("EdDSA", kid="demo-2026")

    def post_token(self, body: str, headers: dict | None = None) -> harness.Response:
        return self.envoy.post(TOKEN_PATH, headers={**FORM, **(headers or {})}, body=body, timeout=10)

    def check(self, kind: str, r: harness.Response, status: int, error: str | None = None) -> bool:
        ok = r.status == status
        if ok and error is not None:
            try:
                ok = r.json().get("error") == error
            except ValueError:
                ok = False
        with self.lock:
            self.counts[kind] += 1
            if r.status >= 500:
                self.five_xx += 1
            if not ok:
                self.wrong.append(f"{kind}: got {r.status} {r.body[:200]!r}, expected {status} {error}")
        return ok

    def one(self, rng: random.Random) -> None:
        roll = rng.random()
        if roll < 0.05 or not self.tokens:
            r = self.post_token("grant_type=client_credentials", basic("billing", BILLING_SECRET))
            if self.check("token basic", r, 200):
                with self.lock:
                    self.tokens.append(r.json()["access_token"])
                    del self.tokens[:-50]
        elif roll < 0.08:
            assertion = tokens.client_assertion()
            r = self.post_token(tokens.assertion_form(assertion))
            if self.check("token private_key_jwt", r, 200):
                with self.lock:
                    self.used_assertions.append(assertion)
                    del self.used_assertions[:-20]
        elif roll < 0.09:
            with self.lock:
                used = rng.choice(self.used_assertions) if self.used_assertions else None
            if used is None:
                return
            self.check("token replayed assertion", self.post_token(tokens.assertion_form(used)), 401, "invalid_client")
        elif roll < 0.10:
            r = self.post_token("grant_type=client_credentials", basic("billing", BILLING_SECRET + "x"))
            self.check("token wrong secret", r, 401, "invalid_client")
        else:
            with self.lock:
                token = rng.choice(self.tokens)
            if roll < 0.80:
                r = self.envoy.get(f"/orders/{rng.randrange(1000)}", headers={"authorization": f"Bearer {token}"}, timeout=10)
                self.check("enforce valid", r, 200)
            elif roll < 0.90:
                r = self.envoy.post("/orders", headers={"authorization": f"Bearer {token}"}, body="{}", timeout=10)
                self.check("enforce insufficient scope", r, 403, "insufficient_scope")
            else:
                if rng.random() < 0.5:
                    bad = tokens.access_token(key=self.attacker)
                else:
                    head, payload, sig = token.split(".")
                    bad = f"{head}.{payload[:-2]}{'A' if payload[-2] != 'A' else 'B'}{payload[-1]}.{sig}"
                r = self.envoy.get("/orders/1", headers={"authorization": f"Bearer {bad}"}, timeout=10)
                self.check("enforce forged", r, 401, "invalid_token")

    def load(self, seconds: float, rate: float, threads: int, samples: list) -> float:
        stop_at = time.monotonic() + seconds
        interval = threads / rate

        def worker(i: int) -> None:
            rng = random.Random(i)
            next_at = time.monotonic() + i * interval / threads
            while next_at < stop_at:
                delay = next_at - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                try:
                    self.one(rng)
                except Exception as e:  # noqa: BLE001 - a failed request is a wrong answer
                    with self.lock:
                        self.wrong.append(f"exception: {e!r}")
                next_at += interval

        pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
        started = time.monotonic()
        for t in pool:
            t.start()
        done = threading.Event()

        def sampler() -> None:
            while True:
                samples.append(self.memory(time.monotonic() - started))
                if done.wait(10.0):
                    return

        sampling = threading.Thread(target=sampler)
        sampling.start()
        for t in pool:
            t.join()
        done.set()
        sampling.join()
        samples.append(self.memory(time.monotonic() - started))
        return time.monotonic() - started

    def memory(self, at: float) -> dict:
        stats = self.envoy.stats(filter=r"^server\.memory_allocated$")
        return {"t": round(at, 1), "rss_kib": rss_kib(self.envoy.proc.pid), "allocated": int(stats.get("server.memory_allocated", 0))}

    def race(self, rounds: int, n: int) -> list[dict]:
        out = []
        for _ in range(rounds):
            body = tokens.assertion_form(tokens.client_assertion())
            barrier = threading.Barrier(n)
            results: list = [None] * n

            def fire(i: int) -> None:
                barrier.wait(timeout=10)
                try:
                    results[i] = self.post_token(body).status
                except Exception as e:  # noqa: BLE001
                    results[i] = repr(e)

            pool = [threading.Thread(target=fire, args=(i,)) for i in range(n)]
            for t in pool:
                t.start()
            for t in pool:
                t.join(timeout=30)
            out.append(dict(collections.Counter(results)))
        return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("seconds", type=float, nargs="?", default=300)
    ap.add_argument("rate", type=float, nargs="?", default=200)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--race-rounds", type=int, default=100)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--shell", choices=["proxy-wasm", "native"], default="proxy-wasm")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="gatepass-soak-"))
    if args.shell == "native":
        harness.install_native(harness.artifact("GATEPASS_NATIVE_SO", "build-native.sh"), work / "modules")
        filter_wasm = None
    else:
        filter_wasm = harness.artifact("GATEPASS_FILTER_WASM", "build-filter.sh")
    upstream = harness.UpstreamServer().up()
    envoy = harness.Envoy.start(
        token_bootstrap(filter_wasm, server_config(), upstream.port), work, name="soak", concurrency=2, log_level="warn"
    )
    try:
        soak = Soak(envoy)
        samples: list[dict] = []
        print(
            f"soak: {args.seconds:.0f} s at {args.rate:.0f} req/s ({args.threads} threads), Envoy {envoy.port} with 2 workers, {args.shell}",
            flush=True,
        )
        elapsed = soak.load(args.seconds, args.rate, args.threads, samples)
        race = soak.race(args.race_rounds, 8)
        counters = envoy.counters()
    finally:
        envoy.stop()
        upstream.down()

    warm = next((s for s in samples if s["t"] >= 0.2 * args.seconds), samples[0])
    end = samples[-1]
    total = sum(soak.counts.values())
    race_ok = sum(1 for r in race if r.get(200) == 1 and r.get(401) == 7)
    rss_growth = end["rss_kib"] - warm["rss_kib"]
    alloc_growth = end["allocated"] - warm["allocated"]
    memory_flat = rss_growth <= max(0.10 * warm["rss_kib"], 8 * 1024) and alloc_growth <= max(0.10 * warm["allocated"], 8 << 20)
    summary = {
        "shell": args.shell,
        "seconds": round(elapsed, 1),
        "requests": total,
        "rate": round(total / elapsed, 1),
        "by_kind": dict(soak.counts),
        "five_xx": soak.five_xx,
        "wrong_answers": len(soak.wrong),
        "memory_after_warmup": warm,
        "memory_end": end,
        "rss_growth_kib": rss_growth,
        "allocated_growth_bytes": alloc_growth,
        "race_rounds": len(race),
        "race_rounds_with_exactly_one_success": race_ok,
        "filter_counters": {k: v for k, v in counters.items() if k.startswith("gatepass.")},
    }
    for k in ("seconds", "requests", "rate", "five_xx", "wrong_answers", "rss_growth_kib", "allocated_growth_bytes"):
        print(f"{k}: {summary[k]}")
    print(f"memory after warm-up (t={warm['t']} s): RSS {warm['rss_kib']} KiB, allocated {warm['allocated']} B")
    print(f"memory at the end    (t={end['t']} s): RSS {end['rss_kib']} KiB, allocated {end['allocated']} B")
    print("by kind: " + ", ".join(f"{k} {v}" for k, v in sorted(soak.counts.items())))
    print(f"replay race: {race_ok}/{len(race)} rounds with exactly one success of 8")
    for w in soak.wrong[:10]:
        print(f"WRONG {w}")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1) + "\n")
    ok = soak.five_xx == 0 and not soak.wrong and race_ok == len(race) and memory_flat and total > 0
    print("soak: PASS" if ok else "soak: FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
