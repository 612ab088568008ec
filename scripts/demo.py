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

Then the edge: an authorization server on Node running the npm package `gatepass`
(node-binding/examples/edge-server.mjs), and a second Envoy with envoy/enforce-remote-jwks.yaml
(config (c)) whose gatepass filter fetches the edge server's JWKS (remote_jwks):

  7. registers a client at the edge server through RFC 7591 (with the initial access token),
  8. gets a token for it from the edge server (client_secret_basic), and registers a second
     client with its public JWKS and gets a token with private_key_jwt (assertion by the CLI),
  9. calls GET /orders through Envoy with it: 200 (Envoy fetched the edge server's JWKS),
 10. calls POST /orders: 403 insufficient_scope,
 11. presents the token from step 1 (same issuer name, a key the edge never published): 401,
 12. deletes the client through RFC 7592; its secret no longer gets a token: 401 invalid_client.

It prints each request and answer, stops what it started, and exits non-zero if any step answers
differently. Run through `make demo` (which builds the filter and the CLI and installs Envoy).
Both Envoys run the native module (target/native/libgatepass.so, scripts/build-native.sh);
with GATEPASS_SHELL=proxy-wasm, the proxy-wasm filter, with the same plugin JSON (envoy/render.py
renders either shell).
"""

from __future__ import annotations

import base64
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "envoy"))
from render import render  # noqa: E402

ENVOY = ROOT / ".venv/bin/envoy"
CLI = ROOT / "target/debug/gatepass"
WASM = ROOT / "target/envoy/gatepass_filter.wasm"
NATIVE = ROOT / "target/native"  # libgatepass.so
SHELL = os.environ.get("GATEPASS_SHELL", "native")
# Where each shell's counters appear in Envoy's stats.
STATS_PREFIX = {"proxy-wasm": "wasmcustom.", "native": "dynamicmodulescustom."}
EDGE = ROOT / "node-binding/examples/edge-server.mjs"
PACKAGE_WASM = ROOT / "node-binding/dist/wasm/gatepass_node_bg.wasm"
ORDERS_AUDIENCE = "https://orders.gatepass.local"
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


def worker_assertion_form(client_id: str) -> bytes:
    """A token request for orders:write with a private_key_jwt assertion made by the CLI with
    the demo worker key (envoy/demo-keys/worker.private.jwk.json) for `client_id`."""
    assertion = subprocess.run(
        [str(CLI), "assertion", "--key", str(KEYS / "worker.private.jwk.json"), "--client", client_id, "--aud", ISSUER],
        check=True, capture_output=True, text=True,
    ).stdout.strip()
    return ("grant_type=client_credentials&scope=orders%3Awrite"
            "&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
            f"&client_assertion={assertion}").encode()


def worker_introspection_form(token: str) -> bytes:
    """An RFC 7662 introspection request for `token`, the caller 'worker' authenticated with a
    private_key_jwt assertion made by the CLI (the shipped config gives it `introspection`)."""
    assertion = subprocess.run(
        [str(CLI), "assertion", "--key", str(KEYS / "worker.private.jwk.json"), "--client", "worker", "--aud", ISSUER],
        check=True, capture_output=True, text=True,
    ).stdout.strip()
    return ("client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
            f"&client_assertion={assertion}&token={token}").encode()


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def start_envoy(name: str, work: Path, started: list, listener: int, admin: int, ports: dict) -> bool:
    """Renders envoy/NAME.yaml on these ports, starts Envoy and waits until it is ready."""
    text = render((ROOT / f"envoy/{name}.yaml").read_text(), keys=KEYS, values={},
                  ports={"listener": listener, "admin": admin, **ports}, wasm=WASM, shell=SHELL)
    config = work / f"{name}.yaml"
    config.write_text(text)
    log_path = work / f"{name}.log"
    with open(log_path, "w") as log:
        envoy = subprocess.Popen(
            [str(ENVOY), "-c", str(config), "--base-id", str((os.getpid() + listener) % 60000 + 1000),
             "--concurrency", "2", "-l", "warn"],
            stdout=log, stderr=subprocess.STDOUT,
            env={**os.environ, "ENVOY_DYNAMIC_MODULES_SEARCH_PATH": str(NATIVE)},
        )
    started.append(envoy)
    deadline = time.time() + 30
    while True:
        try:
            if call(admin, "GET", "/ready")[0] == 200:
                return True
        except OSError:
            pass
        if envoy.poll() is not None or time.time() > deadline:
            print(f"demo: Envoy ({name}) did not start; its log:\n" + log_path.read_text()[-3000:], file=sys.stderr)
            return False
        time.sleep(0.1)


def start_edge(started: list, initial_access_token: str) -> int | None:
    """Starts the Node edge server (the npm package); answers its port once it listens."""
    env = {**os.environ, "GATEPASS_ISSUER": ISSUER, "GATEPASS_AUDIENCE": ORDERS_AUDIENCE,
           "GATEPASS_INITIAL_ACCESS_TOKEN": initial_access_token,
           "GATEPASS_ALLOWED_SCOPE": "orders:read orders:write"}
    edge = subprocess.Popen(["node", str(EDGE)], env=env, stdout=subprocess.PIPE, text=True)
    started.append(edge)
    line = edge.stdout.readline() if edge.stdout else ""
    print(f"\n{line.strip()}")
    try:
        return int(line.split("http://127.0.0.1:")[1].split()[0])
    except (IndexError, ValueError):
        print("demo: the edge server did not start", file=sys.stderr)
        return None


def edge_walkthrough(work: Path, started: list, upstream_port: int, expect, envoy_token: str) -> bool:
    """Steps 7-12: the npm package as the authorization server, Envoy enforcing its tokens."""
    print("\n######## The edge: the npm package `gatepass` on Node issues, Envoy enforces (remote_jwks)")
    initial_access_token = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
    edge = start_edge(started, initial_access_token)
    if edge is None:
        return False
    listener, admin = free_port(), free_port()
    if not start_envoy("enforce-remote-jwks", work, started, listener, admin, {"upstream": upstream_port, "issuer": edge}):
        return False
    print(f"Envoy {listener} (admin {admin}) with remote_jwks http://127.0.0.1:{edge}/.well-known/jwks.json")

    # 7. RFC 7591 registration, authorized by the initial access token (§3: Bearer).
    metadata = json.dumps({"client_name": "nightly-reports", "scope": "orders:read",
                           "grant_types": ["client_credentials"],
                           "token_endpoint_auth_method": "client_secret_basic"}).encode()
    r = call(edge, "POST", "/oauth/register", {"content-type": "application/json",
                                               "authorization": f"Bearer {initial_access_token}"}, metadata)
    show("register a client at the edge server (RFC 7591)", "POST", "/oauth/register", "authorization: Bearer <initial access token>", r)
    expect("201 with client_id, client_secret and a registration access token", r[0] == 201)
    reg = json.loads(r[2]) if r[0] == 201 else {}
    client_id, client_secret = reg.get("client_id", ""), reg.get("client_secret", "")

    # 8. a token from the edge server
    basic = "Basic " + base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
    form = {"content-type": "application/x-www-form-urlencoded"}
    r = call(edge, "POST", "/oauth/token", {**form, "authorization": basic}, b"grant_type=client_credentials")
    show("token from the edge server (client_secret_basic)", "POST", "/oauth/token", "authorization: Basic <registered client>", r)
    expect("200 with a Bearer token", r[0] == 200)
    token = json.loads(r[2]).get("access_token", "") if r[0] == 200 else ""

    # 8b. private_key_jwt at the edge: register the worker's public JWKS, sign with its key.
    metadata = json.dumps({"client_name": "edge-worker", "scope": "orders:read orders:write",
                           "token_endpoint_auth_method": "private_key_jwt", "token_endpoint_auth_signing_alg": "ES256",
                           "jwks": json.loads((KEYS / "worker.public.jwks.json").read_text())}).encode()
    r = call(edge, "POST", "/oauth/register", {"content-type": "application/json",
                                               "authorization": f"Bearer {initial_access_token}"}, metadata)
    show("register a private_key_jwt client with its JWKS (RFC 7591)", "POST", "/oauth/register", "jwks: {keys: [ES256 public key]}", r)
    expect("201", r[0] == 201)
    worker_id = json.loads(r[2]).get("client_id", "") if r[0] == 201 else ""
    r = call(edge, "POST", "/oauth/token", form, worker_assertion_form(worker_id or "none"))
    show("token from the edge server (private_key_jwt)", "POST", "/oauth/token", "client_assertion=<ES256 JWT>", r)
    expect("200", r[0] == 200)
    worker_token = json.loads(r[2]).get("access_token", "") if r[0] == 200 else ""
    r = call(listener, "POST", "/orders", {"authorization": f"Bearer {worker_token}"}, b"{}")
    show("Envoy: route needing orders:write, with that token", "POST", "/orders", "authorization: Bearer <edge token>", r)
    expect("200", r[0] == 200)

    # 9. Envoy verifies it with the JWKS it fetched from the edge server.
    r = call(listener, "GET", "/orders/7", {"authorization": f"Bearer {token}"})
    show("Envoy: protected route with the edge token", "GET", "/orders/7", "authorization: Bearer <edge token>", r)
    seen = json.loads(r[2]).get("headers", {}) if r[0] == 200 else {}
    expect(f"200; the upstream saw x-client-id={seen.get('x-client-id')!r}", r[0] == 200 and seen.get("x-client-id") == client_id)

    # 10. scope check
    r = call(listener, "POST", "/orders", {"authorization": f"Bearer {token}"}, b"{}")
    show("Envoy: route needing orders:write", "POST", "/orders", "authorization: Bearer <edge token>", r)
    expect("403 insufficient_scope", r[0] == 403 and b"insufficient_scope" in r[2])

    # 11. A token with the right issuer name signed by a key the edge never published.
    r = call(listener, "GET", "/orders/7", {"authorization": f"Bearer {envoy_token}"})
    show("Envoy: the token from step 1 (another key, same issuer name)", "GET", "/orders/7", "authorization: Bearer <step-1 token>", r)
    expect("401 invalid_token (kid not in the edge JWKS)", r[0] == 401 and "invalid_token" in r[1].get("www-authenticate", r[1].get("WWW-Authenticate", "")))

    # 12. RFC 7592: delete the client with its registration access token.
    path = "/oauth/register/" + urllib.parse.quote(client_id, safe="")
    r = call(edge, "DELETE", path, {"authorization": f"Bearer {reg.get('registration_access_token', '')}"})
    show("delete the client (RFC 7592)", "DELETE", path, "authorization: Bearer <registration access token>", r)
    expect("204", r[0] == 204)
    r = call(edge, "POST", "/oauth/token", {**form, "authorization": basic}, b"grant_type=client_credentials")
    show("token for the deleted client", "POST", "/oauth/token", "authorization: Basic <deleted client>", r)
    expect("401 invalid_client", r[0] == 401 and b"invalid_client" in r[2])

    stats = call(admin, "GET", "/stats?filter=gatepass")[2].decode()
    print("\n== Envoy stats (remote_jwks)")
    print("\n".join(line for line in stats.splitlines() if STATS_PREFIX[SHELL] in line and not line.endswith(": 0")))
    return True


def main() -> int:
    if SHELL not in STATS_PREFIX:
        print(f"demo: GATEPASS_SHELL must be one of {', '.join(STATS_PREFIX)}, not {SHELL!r}", file=sys.stderr)
        return 1
    artifact = (NATIVE / "libgatepass.so", "bash scripts/build-native.sh") if SHELL == "native" else (WASM, "bash scripts/build-filter.sh")
    for path, how in ((ENVOY, "bash scripts/envoy.sh"), (CLI, "cargo build -p gatepass-cli"), artifact,
                      (PACKAGE_WASM, "bash node-binding/build.sh")):
        if not path.exists():
            print(f"demo: {path} is missing; run `{how}` (make demo does)", file=sys.stderr)
            return 1
    upstream = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    work = Path(tempfile.mkdtemp(prefix="gatepass-demo-"))
    started: list[subprocess.Popen] = []
    ok = True

    def expect(what: str, condition: bool) -> None:
        nonlocal ok
        print(f"   {'ok:' if condition else 'FAILED:'} {what}")
        ok &= bool(condition)

    try:
        listener, admin = free_port(), free_port()
        if not start_envoy("token-endpoint", work, started, listener, admin, {"upstream": upstream.server_address[1]}):
            return 1
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
        body = worker_assertion_form("worker")
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

        # 7. RFC 7662 introspection, by 'worker' (introspection: true in the config)
        r = call(listener, "POST", "/oauth/introspect", form, worker_introspection_form(token))
        show("introspection of billing's token, by 'worker'", "POST", "/oauth/introspect", "token=<token>, client_assertion=<ES256 JWT>", r)
        answer = json.loads(r[2]) if r[0] == 200 else {}
        expect("200 active, with the token's claims", answer.get("active") is True and answer.get("client_id") == "billing")
        r = call(listener, "POST", "/oauth/introspect", form, worker_introspection_form(forged))
        show("introspection of the edited token", "POST", "/oauth/introspect", "token=<forged>", r)
        expect('200 {"active":false} and nothing more (RFC 7662 §2.2)', r[0] == 200 and json.loads(r[2]) == {"active": False})

        stats = call(admin, "GET", "/stats?filter=gatepass")[2].decode()
        print("\n== Envoy stats")
        print("\n".join(line for line in stats.splitlines() if STATS_PREFIX[SHELL] in line and not line.endswith(": 0")))

        if not edge_walkthrough(work, started, upstream.server_address[1], expect, token):
            ok = False
    finally:
        for process in reversed(started):
            stop(process)
        upstream.shutdown()
        if ok:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"demo: Envoy configs and logs are in {work}", file=sys.stderr)
    print()
    print("demo: every step answered as expected" if ok else "demo: a step answered unexpectedly")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
