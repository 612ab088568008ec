#!/usr/bin/env python3
"""The README's main command: gatepass in a real Envoy, walked through step by step.

Starts a small upstream (it echoes the headers it receives) and Envoy with envoy/token-endpoint.yaml
(config (b): the filter serves the token endpoint and enforces the tokens on /orders), then:

  1. gets a token with client_secret_basic (client `billing`),
  2. calls GET /orders with it: 200, and the upstream sees the claim headers the filter set,
  3. calls POST /orders (needs orders:write): 403 insufficient_scope,
  4. gets a token with private_key_jwt (client `worker`, assertion made by the `gatepass` CLI),
  5. sends the same assertion again: 401 invalid_client (single-use jti),
  6. calls GET /orders with a tampered token: 401 invalid_token.

It prints each request and answer, stops what it started, and exits non-zero if any step answers
differently. Run through `make demo` (which builds the filter and the CLI and installs Envoy).
"""

from __future__ import annotations

import base64
import http.server
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "envoy"))
from render import render  # noqa: E402

ENVOY = ROOT / ".venv/bin/envoy"
CLI = ROOT / "target/debug/gatepass"
WASM = ROOT / "target/wasm32-wasip1/release/gatepass_filter.wasm"
KEYS = ROOT / "envoy/demo-keys"
ISSUER = "https://auth.gatepass.local"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Echo(http.server.BaseHTTPRequestHandler):
    def _answer(self):
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        body = json.dumps({"method": self.command, "path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


def call(port: int, method: str, path: str, headers: dict | None = None, body: bytes | None = None):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def show(title: str, method: str, path: str, sent: str, answer) -> None:
    status, headers, body = answer
    print(f"\n== {title}")
    print(f"-> {method} {path}  {sent}")
    print(f"<- {status} {body.decode(errors='replace')[:300]}")
    for name in ("www-authenticate",):
        for k, v in headers.items():
            if k.lower() == name:
                print(f"   {k.lower()}: {v}")


def main() -> int:
    for path, how in ((ENVOY, "bash scripts/envoy.sh"), (CLI, "cargo build -p gatepass-cli"), (WASM, "cargo build -p gatepass-filter --target wasm32-wasip1 --release")):
        if not path.exists():
            print(f"demo: {path} is missing; run `{how}` (make demo does)", file=sys.stderr)
            return 1
    upstream = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    listener, admin = free_port(), free_port()
    text = render(
        (ROOT / "envoy/token-endpoint.yaml").read_text(),
        keys=KEYS,
        values={},
        ports={"listener": listener, "admin": admin, "upstream": upstream.server_address[1]},
        wasm=WASM,
    )
    work = Path(tempfile.mkdtemp(prefix="gatepass-demo-"))
    config = work / "envoy.yaml"
    config.write_text(text)
    log = open(work / "envoy.log", "w")
    envoy = subprocess.Popen(
        [str(ENVOY), "-c", str(config), "--base-id", str(os.getpid() % 60000 + 1000), "--concurrency", "2", "-l", "warn"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    ok = True

    def expect(what: str, condition: bool) -> None:
        nonlocal ok
        print(f"   {'ok:' if condition else 'FAILED:'} {what}")
        ok &= bool(condition)

    try:
        deadline = time.time() + 30
        while True:
            try:
                if call(admin, "GET", "/ready")[0] == 200:
                    break
            except OSError:
                pass
            if envoy.poll() is not None or time.time() > deadline:
                print("demo: Envoy did not start; its log:\n" + (work / "envoy.log").read_text()[-3000:], file=sys.stderr)
                return 1
            time.sleep(0.1)
        print(f"gatepass demo: Envoy {listener} (admin {admin}), upstream {upstream.server_address[1]}, issuer {ISSUER}")
        form = {"content-type": "application/x-www-form-urlencoded"}

        # 1. client_secret_basic (RFC 6749 §2.3.1)
        secret = (KEYS / "billing.secret").read_text().strip()
        basic = "Basic " + base64.b64encode(f"billing:{secret}".encode()).decode()
        r = call(listener, "POST", "/oauth/token", {**form, "authorization": basic}, b"grant_type=client_credentials")
        show("token with client_secret_basic as 'billing'", "POST", "/oauth/token", "authorization: Basic …", r)
        expect("200 with a Bearer token", r[0] == 200)
        token = json.loads(r[2]).get("access_token", "") if r[0] == 200 else ""

        # 2. a protected route
        r = call(listener, "GET", "/orders/42", {"authorization": f"Bearer {token}", "x-client-id": "spoofed"})
        show("protected route (needs orders:read)", "GET", "/orders/42", "authorization: Bearer <token>, x-client-id: spoofed", r)
        seen = json.loads(r[2]).get("headers", {}) if r[0] == 200 else {}
        print(f"   upstream saw: x-client-id={seen.get('x-client-id')!r} x-scope={seen.get('x-scope')!r} authorization={seen.get('authorization')!r}")
        expect("200; the upstream saw the filter's claim headers, not the spoofed one or the token", r[0] == 200 and seen.get("x-client-id") == "billing" and "authorization" not in seen)

        # 3. a route needing another scope
        r = call(listener, "POST", "/orders", {"authorization": f"Bearer {token}"}, b"{}")
        show("route needing orders:write", "POST", "/orders", "authorization: Bearer <token>", r)
        expect("403 insufficient_scope (RFC 6750 §3.1)", r[0] == 403 and b"insufficient_scope" in r[2])

        # 4. private_key_jwt (RFC 7523), assertion made by the CLI
        assertion = subprocess.run(
            [str(CLI), "assertion", "--key", str(KEYS / "worker.private.jwk.json"), "--client", "worker", "--aud", ISSUER],
            check=True, capture_output=True, text=True,
        ).stdout.strip()
        body = ("grant_type=client_credentials&scope=orders%3Awrite"
                "&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
                f"&client_assertion={assertion}").encode()
        r = call(listener, "POST", "/oauth/token", form, body)
        show("token with private_key_jwt as 'worker'", "POST", "/oauth/token", "client_assertion=<ES256 JWT>", r)
        expect("200 with a token for orders:write", r[0] == 200)
        worker = json.loads(r[2]).get("access_token", "") if r[0] == 200 else ""
        r = call(listener, "POST", "/orders", {"authorization": f"Bearer {worker}"}, b"{}")
        show("route needing orders:write, with the worker's token", "POST", "/orders", "authorization: Bearer <token>", r)
        expect("200", r[0] == 200)

        # 5. the same assertion again
        r = call(listener, "POST", "/oauth/token", form, body)
        show("the same assertion again", "POST", "/oauth/token", "client_assertion=<the same JWT>", r)
        expect("401 invalid_client (jti already used)", r[0] == 401 and b"invalid_client" in r[2])

        # 6. a tampered token
        head, payload, sig = token.split(".") if token.count(".") == 2 else ("", "", "")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)) or b"{}")
        claims["scope"] = "orders:read orders:write"
        forged = head + "." + base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode() + "." + sig
        r = call(listener, "POST", "/orders", {"authorization": f"Bearer {forged}"}, b"{}")
        show("a token whose scope was edited", "POST", "/orders", "authorization: Bearer <forged>", r)
        expect("401 invalid_token", r[0] == 401 and b"invalid_token" in r[2])

        stats = call(admin, "GET", "/stats?filter=gatepass")[2].decode()
        print("\n== Envoy stats")
        print("\n".join(line for line in stats.splitlines() if "wasmcustom" in line and not line.endswith(": 0")))
    finally:
        envoy.terminate()
        try:
            envoy.wait(timeout=10)
        except subprocess.TimeoutExpired:
            envoy.kill()
        upstream.shutdown()
        log.close()
    print()
    print("demo: every step answered as expected" if ok else "demo: a step answered unexpectedly")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
