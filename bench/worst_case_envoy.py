#!/usr/bin/env python3
"""Worst-case work per request before authentication (issue 11) through real Envoy: the
filter's token endpoint (token request, Basic header, client assertion) and its enforcement path
(access tokens). Run through `bash bench/worst-case.sh`, or directly once Envoy and the filter
are built:

    .venv/bin/python bench/worst_case_envoy.py CASES.json [--quick] [--json OUT]

CASES.json comes from `worst_case write DIR` (core/examples/worst_case.rs): per parser, a
benign request and adversarial ones of the same byte size. One Envoy (`--concurrency 1`, the
filter built for wasm32-wasip1, V8) serves the token endpoint of the cases' server config (its
route buffered by Envoy's buffer filter, as in envoy/token-endpoint.yaml) and enforces the
cases' provider on `/orders` (a local 200 behind it), with the verified-token cache off
(`jwt_cache_size: 0`, so a repeated benign token is verified every time, as a fresh one would
be).

Measure: Envoy's CPU time per request: the sum of every Envoy thread's run time
(`/proc/PID/task/*/schedstat`, nanoseconds; the same quantity as utime+stime of
`/proc/PID/stat`, finer) over a batch of requests of one kind, sent one at a time over one
keep-alive HTTP/1.1 connection, divided by the batch size. Rounds alternate adversarial and
benign batches (A B, B A, ...); medians over the rounds. Every answer is checked (benign 200,
adversarial 401).

Envoy's replay store cannot be bypassed, so each benign client assertion is re-signed here with
a unique `jti` of the same length (HS256 with the client's secret): same size, same path.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import socket
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "envoy"))

import harness  # noqa: E402  (tests/envoy/harness.py: bootstraps, Envoy process handling)

WASM = harness.WASM_PATH


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def envoy_cpu_ns(pid: int) -> int:
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except OSError:  # a thread that just ended
            pass
    return total


class Connection:
    """One keep-alive HTTP/1.1 connection sending prepared request bytes."""

    def __init__(self, port: int):
        self.port = port
        self.sock: socket.socket | None = None
        self.buf = b""

    def _connect(self) -> socket.socket:
        if self.sock is None:
            self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.buf = b""
        return self.sock

    def send(self, request: bytes) -> int:
        sock = self._connect()
        sock.sendall(request)
        while b"\r\n\r\n" not in self.buf:
            self._recv(sock)
        head, _, rest = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        if "content-length" not in headers:
            raise RuntimeError(f"answer without Content-Length: {lines}")
        length = int(headers["content-length"])
        while len(rest) < length:
            self._recv(sock)
            rest = self.buf.partition(b"\r\n\r\n")[2]
        self.buf = rest[length:]
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status

    def _recv(self, sock: socket.socket) -> None:
        data = sock.recv(1 << 16)
        if not data:
            raise RuntimeError("Envoy closed the connection")
        self.buf += data

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def http_bytes(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: bench"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def requests_for(case: dict[str, Any]) -> Callable[[int], bytes]:
    """A function giving the i-th request of a case (the same bytes every time, except a benign
    client assertion's jti)."""
    if "token" in case:
        raw = http_bytes("GET", "/orders", {"Authorization": f"Bearer {case['token']}"})
        return lambda i: raw
    headers = {"Content-Type": case["content_type"]}
    if case.get("authorization"):
        headers["Authorization"] = case["authorization"]
    body = case["body"].encode()
    if not case.get("jti"):
        raw = http_bytes("POST", case["path"], headers, body)
        return lambda i: raw
    # A benign assertion: the same claims with a unique jti of the same length, re-signed.
    prefix, _, assertion = case["body"].rpartition("client_assertion=")
    h, p, _ = assertion.split(".")
    payload = b64url_decode(p).decode()
    jti = case["jti"]
    if payload.count(json.dumps(jti)) != 1:
        raise RuntimeError("benign assertion: jti not found once in the payload")
    secret = case["hs256_secret"].encode()
    run = os.getpid()

    def make(i: int) -> bytes:
        unique = f"{run}-{i}".rjust(len(jti), "0")
        new_p = b64url(payload.replace(json.dumps(jti), json.dumps(unique)).encode())
        signing_input = f"{h}.{new_p}"
        sig = b64url(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())
        return http_bytes("POST", case["path"], headers, f"{prefix}client_assertion={signing_input}.{sig}".encode())

    return make


def plugin_configuration(doc: dict[str, Any]) -> dict[str, Any]:
    server = dict(doc["server_config"])
    server.pop("registration", None)  # the filter serves no registration endpoint
    provider = harness.provider(
        issuer=doc["issuer"],
        audiences=[doc["audience"]],
        algorithms=["EdDSA"],
        max_lifetime=None,
    )
    provider["local_jwks"] = doc["provider"]["local_jwks"]
    rules = [{"match": {"path_separated_prefix": "/orders"}, "requires": {"provider_name": "main", "scopes": ["orders:read"]}}]
    return harness.plugin_config({"main": provider}, rules, token_endpoint=server, jwt_cache_size=0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("cases", type=Path)
    ap.add_argument("--quick", action="store_true", help="fewer, shorter rounds (a smoke run)")
    ap.add_argument("--json", type=Path, help="write the results here")
    args = ap.parse_args()
    rounds, batch_cpu = (3, 0.06) if args.quick else (7, 0.25)

    doc = json.loads(args.cases.read_text())
    cases = [c for c in doc["cases"] if c["parser"] in ("token_request", "basic_header", "client_assertion", "access_token")]
    if not WASM.exists():
        sys.exit(f"worst_case_envoy.py: {WASM} is missing (bash scripts/build-filter.sh)")
    config = harness.gatepass_bootstrap(WASM, plugin_configuration(doc))
    workdir = Path(tempfile.mkdtemp(prefix="gatepass-worst-case-"))
    envoy = harness.Envoy.start(config, workdir, name="worst-case", concurrency=1, log_level="warn")
    try:
        conn = Connection(envoy.port)
        pid = envoy.proc.pid
        counter = [0]

        def run(make: Callable[[int], bytes], n: int, expect: int) -> float:
            """Envoy CPU seconds per request over n requests."""
            reqs = [make(counter[0] + i) for i in range(n)]
            counter[0] += n
            before = envoy_cpu_ns(pid)
            for r in reqs:
                status = conn.send(r)
                if status != expect:
                    raise RuntimeError(f"answered {status}, expected {expect}")
            return (envoy_cpu_ns(pid) - before) / 1e9 / n

        def size(make: Callable[[int], bytes], expect: int) -> int:
            n = 4
            while True:
                t = run(make, n, expect) * n
                if t >= batch_cpu / 4 or n >= 4096:
                    return max(2, round(n * batch_cpu / max(t, 1e-6)))
                n *= 4

        for c in cases:
            status = conn.send(requests_for(c)(10_000_000))
            if status != c["expect"]:
                raise RuntimeError(f"{c['parser']} {c['variant']}: answered {status}, expected {c['expect']}")

        print(
            f"Envoy 1.40, gatepass filter (wasm32-wasip1, V8), one worker: Envoy CPU time per "
            f"request (all threads, /proc schedstat), medians of {rounds} interleaved rounds, batches of ~{batch_cpu * 1000:.0f} ms CPU"
        )
        print(f"{'parser':<17} {'variant':<16} {'stage':<6} {'adversarial':>13} {'benign':>13} {'ratio':>8}")
        results = []
        for benign in [c for c in cases if not c["adversarial"]]:
            b = requests_for(benign)
            for adv in [c for c in cases if c["adversarial"] and c["parser"] == benign["parser"]]:
                a = requests_for(adv)
                na, nb = size(a, adv["expect"]), size(b, benign["expect"])
                ta: list[float] = []
                tb: list[float] = []
                for r in range(rounds):
                    order = [(a, na, adv["expect"], ta), (b, nb, benign["expect"], tb)]
                    for make, n, expect, out in order if r % 2 == 0 else reversed(order):
                        out.append(run(make, n, expect))
                ma, mb = statistics.median(ta), statistics.median(tb)
                ratio = ma / mb
                print(
                    f"{adv['parser']:<17} {adv['variant']:<16} {'whole':<6} {ma * 1e6:>10.1f} µs {mb * 1e6:>10.1f} µs {ratio:>7.2f}×",
                    flush=True,
                )
                results.append(
                    {
                        "shell": "envoy",
                        "parser": adv["parser"],
                        "variant": adv["variant"],
                        "stage": "whole",
                        "adversarial_us": ma * 1e6,
                        "benign_us": mb * 1e6,
                        "ratio": ratio,
                        "bytes": adv["bytes"],
                        "cap": adv["cap"],
                    }
                )
        conn.close()
    except BaseException:
        print(envoy.log_tail(), file=sys.stderr)
        raise
    finally:
        envoy.stop()
    if args.json:
        args.json.write_text(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
