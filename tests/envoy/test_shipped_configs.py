"""The configs in envoy/ as shipped (rendered by envoy/render.py with the demo keys, on free
ports) start in real Envoy and answer as their comments say, with the proxy-wasm filter and as
their native twins (`render.py --shell native`; not the remote-JWKS config, which the native
module cannot run yet)."""

from __future__ import annotations

import base64
import json

import pytest

import harness
import tokens

DEMO_KEYS = harness.ROOT / "envoy" / "demo-keys"
CONFIGS = sorted(p.name for p in (harness.ROOT / "envoy").glob("*.yaml"))
# (config, shell): every config with the proxy-wasm filter, and its native twin.
SHELL_CONFIGS = [(name, shell) for shell in ("proxy-wasm", "native") for name in CONFIGS]


def demo_jwks() -> dict:
    return json.loads((DEMO_KEYS / "public.jwks.json").read_text())


@pytest.fixture
def shipped(request, filter_wasm, envoy_factory, upstream, issuer_server):
    """start(NAME, shell="proxy-wasm") → a running Envoy with envoy/NAME (upstream and issuer
    on the fixtures), or its native twin."""
    issuer_server.set_jwks(demo_jwks())

    def start(name: str, shell: str = "proxy-wasm") -> harness.Envoy:
        if shell == "native":
            request.getfixturevalue("native_module")
        text = harness.render_shipped(
            name, ports={"upstream": upstream.port, "issuer": issuer_server.port}, wasm=filter_wasm, shell=shell
        )
        return envoy_factory(text, name=f"{name.removesuffix('.yaml')}-{shell}")

    return start


@pytest.mark.parametrize(("name", "shell"), SHELL_CONFIGS)
def test_shipped_config_starts_and_enforces(name, shell, shipped, upstream):
    envoy = shipped(name, shell)

    r = envoy.get("/health")
    assert (r.status, r.text) == (200, "ok\n"), r

    r = envoy.get("/orders/1")
    assert r.status == 401, r
    assert r.header("www-authenticate") == 'Bearer realm="gatepass"', r
    assert upstream.requests == []

    r = envoy.get("/orders/1", headers={"authorization": "Bearer not.a.jwt"})
    assert r.status == 401, r
    assert 'error="invalid_token"' in (r.header("www-authenticate") or ""), r


@pytest.mark.parametrize("shell", ["proxy-wasm", "native"])
def test_token_endpoint_config_issues_and_enforces(shell, shipped, upstream):
    """envoy/token-endpoint.yaml: client_secret_basic token → protected route (claim headers
    forwarded, Authorization removed) → a route needing another scope (403)."""
    envoy = shipped("token-endpoint.yaml", shell)
    secret = (DEMO_KEYS / "billing.secret").read_text().strip()
    basic = base64.b64encode(f"billing:{secret}".encode()).decode()

    r = envoy.post(
        "/oauth/token",
        headers={"authorization": f"Basic {basic}", "content-type": "application/x-www-form-urlencoded"},
        body="grant_type=client_credentials",
        timeout=5,
    )
    assert r.status == 200, r
    assert r.header("cache-control") == "no-store", r
    issued = r.json()
    assert issued["token_type"].lower() == "bearer", issued
    token = issued["access_token"]

    r = envoy.get("/orders/7", headers={"authorization": f"Bearer {token}", "x-client-id": "spoofed"})
    assert r.status == 200, r
    seen = r.json()["headers"]
    assert seen.get("x-client-id") == "billing", seen
    assert "authorization" not in seen, seen

    r = envoy.post("/orders", headers={"authorization": f"Bearer {token}"}, body="{}")
    assert r.status == 403, r
    assert 'error="insufficient_scope"' in (r.header("www-authenticate") or ""), r

    r = envoy.get("/.well-known/jwks.json")
    assert r.status == 200, r
    assert [k["kid"] for k in r.json()["keys"]] == [k["kid"] for k in demo_jwks()["keys"]]


@pytest.mark.parametrize(("name", "shell"), SHELL_CONFIGS)
def test_shipped_rules_guard_writes_the_public_tree_only_and_everything_else(name, shell, shipped, upstream):
    """The shipped rules: every write method on /orders needs orders:write (a read token gets
    403), /public opens its own tree and not /public-internal, and the catch-all asks for a token
    on every other path."""
    envoy = shipped(name, shell)
    read = {"authorization": f"Bearer {tokens.access_token(scope='orders:read')}"}
    write = {"authorization": f"Bearer {tokens.access_token(scope='orders:read orders:write')}"}
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        r = envoy.request(method, "/orders/7", headers=read, body="{}")
        assert r.status == 403, (method, r)
        assert 'scope="orders:write"' in (r.header("www-authenticate") or ""), r
    assert upstream.requests == []
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        assert envoy.request(method, "/orders/7", headers=write, body="{}").status == 200, method
    assert envoy.get("/orders/7", headers=read).status == 200

    assert envoy.get("/public/status").status == 200
    for path in ("/public-internal", "/orders-archive", "/"):
        r = envoy.get(path)
        assert r.status == 401, (path, r)
    assert envoy.get("/public-internal", headers=read).status == 200
