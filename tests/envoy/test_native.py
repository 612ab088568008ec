"""The native dynamic module (`envoy-module/`, `libgatepass.so`) in the real Envoy: it loads
with the proxy-wasm filter's plugin JSON, enforces tokens, serves the token endpoint from the
body, shares its replay store between workers, refuses a bad
configuration naming the field, and a panic inside it (its test-only path) is answered 500 while
Envoy keeps serving on every worker.

Most of tests/envoy runs against both shells (the `shell` and `module_shell` fixtures): the
cross-shell and attack vectors, the host edge, enforcement, rules, remote JWKS, the token
endpoint, work bounds, interop, the shipped configs and the smoke tests."""

from __future__ import annotations

import base64
import json
import secrets
from urllib.parse import urlencode

import harness
import tokens

TOKEN_PATH = "/oauth/token"
FORM = {"content-type": "application/x-www-form-urlencoded"}
BILLING_SECRET = secrets.token_urlsafe(32)


def native_config(**token_endpoint):
    te = {
        "issuer": harness.ISSUER,
        "signing_keys": [tokens.DEMO_PRIVATE_JWK],
        "default_audiences": [harness.AUDIENCE],
        "clients": [
            {
                "client_id": "billing",
                "client_secret_hash": tokens.secret_hash(BILLING_SECRET),
                "scope": "orders:read",
            },
            {
                "client_id": "worker",
                "token_endpoint_auth_method": "private_key_jwt",
                "jwks": tokens.WORKER_PUBLIC_JWKS,
                "scope": "orders:read orders:write",
            },
        ],
        **token_endpoint,
    }
    return harness.plugin_config(
        {"main": harness.provider(jwks=tokens.DEMO_PUBLIC_JWKS, claim_to_headers=[{"header_name": "x-client-id", "claim_name": "client_id"}])},
        token_endpoint=te,
    )


def native_bootstrap(config, upstream_port, *, name="gatepass"):
    """Every path to the echo upstream: whatever the module lets through shows up there."""
    return harness.bootstrap(
        routes=[harness.cluster_route("/", "upstream")],
        http_filters=[harness.native_filter(config, name=name)],
        clusters=[harness.static_cluster("upstream", upstream_port)],
    )


def basic(client_id, secret):
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def test_the_native_module_enforces_tokens_like_the_filter(native_module, envoy_factory, upstream):
    envoy = envoy_factory(native_bootstrap(native_config(), upstream.port))
    r = envoy.get("/orders")
    assert r.status == 401, r
    assert r.header("www-authenticate").startswith("Bearer realm="), r
    # A valid token passes; the claim header is set by the module, an inbound copy removed.
    token = tokens.access_token()
    r = envoy.get("/orders", headers={"authorization": f"Bearer {token}", "x-client-id": "admin"})
    assert r.status == 200, r
    seen = r.json()["headers"]
    assert seen["x-client-id"] == "billing", seen
    # The same token again comes from the shared cache; a forged one is refused.
    assert envoy.get("/orders", headers={"authorization": f"Bearer {token}"}).status == 200
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    r = envoy.get("/orders", headers={"authorization": f"Bearer {forged}"})
    assert r.status == 401 and 'error="invalid_token"' in r.header("www-authenticate"), r
    # Missing scope: 403 insufficient_scope (RFC 6750 §3.1).
    r = envoy.post("/orders", headers={"authorization": f"Bearer {token}"}, body="{}")
    assert r.status == 403, r
    counters = envoy.stats(filter="gatepass")
    assert counters.get("dynamicmodulescustom.gatepass.allowed") == 2, counters
    assert counters.get("dynamicmodulescustom.gatepass.allowed_cached") == 1, counters
    assert counters.get("dynamicmodulescustom.gatepass.denied.invalid_token") == 1, counters
    assert len(upstream.requests) == 2


def test_the_native_token_endpoint_answers_from_the_body(native_module, envoy_factory, upstream):
    envoy = envoy_factory(native_bootstrap(native_config(), upstream.port))
    body = urlencode({"grant_type": "client_credentials"})
    r = envoy.post(TOKEN_PATH, headers={**FORM, "authorization": basic("billing", BILLING_SECRET)}, body=body)
    assert r.status == 200, r
    issued = r.json()
    assert issued["token_type"] == "Bearer" and issued["scope"] == "orders:read", issued
    # The token it issued is enforced by the same Envoy.
    ok = envoy.get("/orders", headers={"authorization": f"Bearer {issued['access_token']}"})
    assert ok.status == 200, ok
    wrong = envoy.post(TOKEN_PATH, headers={**FORM, "authorization": basic("billing", "nope")}, body=body)
    assert wrong.status == 401 and wrong.json()["error"] == "invalid_client", wrong
    # Over the body limit: 413, from core.
    big = envoy.post(TOKEN_PATH, headers={**FORM, "authorization": basic("billing", BILLING_SECRET)}, body=body + "&x=" + "a" * 70_000)
    assert big.status == 413, big
    # The JWKS and the metadata are answered locally.
    assert envoy.get(harness.JWKS_PATH).json()["keys"][0]["kid"] == tokens.DEMO_PRIVATE_JWK["kid"]
    # No token request, nor its credentials, ever reached the upstream.
    assert all(req["path"] != TOKEN_PATH for req in upstream.requests), upstream.requests


def test_an_assertion_is_accepted_once_across_workers(native_module, envoy_factory, upstream):
    envoy = envoy_factory(native_bootstrap(native_config(), upstream.port), concurrency=2)
    assertion = tokens.client_assertion()
    body = tokens.assertion_form(assertion)
    answers = [envoy.post(TOKEN_PATH, headers=FORM, body=body).status for _ in range(6)]
    assert answers.count(200) == 1 and answers.count(401) == 5, answers


def test_a_bad_configuration_is_refused_naming_the_field(native_module, envoy_validate):
    good = native_config()
    rc, out = envoy_validate(native_bootstrap(good, 1))
    assert rc == 0, out
    bad = json.loads(json.dumps(good))
    bad["providers"]["main"]["isuer"] = bad["providers"]["main"].pop("issuer")
    rc, out = envoy_validate(native_bootstrap(bad, 1))
    assert rc != 0
    assert "isuer" in out, out


def test_a_panic_in_the_module_is_a_500_and_envoy_keeps_serving(native_module, envoy_factory, upstream):
    envoy = envoy_factory(native_bootstrap(native_config(), upstream.port, name="gatepass-test-panic"), concurrency=2)
    for _ in range(4):
        r = envoy.get("/gatepass-test-panic")
        assert r.status == 500 and r.json()["error"] == "server_error", r
    assert envoy.running
    # Every later request, on fresh connections spread over both workers, is answered.
    token = tokens.access_token()
    statuses = [envoy.get("/orders", headers={"authorization": f"Bearer {token}"}).status for _ in range(20)]
    assert statuses == [200] * 20, statuses
    assert envoy.stats(filter="panic_caught").get("dynamicmodulescustom.gatepass.native.panic_caught") == 4
    assert "a panic was caught in the module" in envoy.log_text()


def test_ecdsa_and_rsa_tokens_are_checked_by_the_native_crypto_as_by_core(native_module, envoy_factory, upstream):
    """ES256, RS256 and PS256 go through `ring` in the module (envoy-module/src/crypto.rs): a
    valid token passes, one with a changed signature, or signed by another key under the same
    kid, is refused."""
    keys = {alg: tokens.new_key(alg) for alg in ("ES256", "RS256", "PS256")}
    impostors = {alg: tokens.new_key(alg, kid=keys[alg][1]["kid"]) for alg in keys}
    config = native_config()
    config["providers"]["main"] = harness.provider(
        jwks=tokens.jwks(*(public for _, public in keys.values())), algorithms=["ES256", "RS256", "PS256"]
    )
    envoy = envoy_factory(native_bootstrap(config, upstream.port))
    for alg, (key, public) in keys.items():
        token = tokens.access_token(key=key, alg=alg, kid=public["kid"])
        assert envoy.get("/orders", headers={"authorization": f"Bearer {token}"}).status == 200, alg
        head, payload, sig = token.split(".")
        changed = f"{head}.{payload}.{('B' if sig[0] == 'A' else 'A')}{sig[1:]}"
        r = envoy.get("/orders", headers={"authorization": f"Bearer {changed}"})
        assert r.status == 401, (alg, r)
        forged = tokens.access_token(key=impostors[alg][0], alg=alg, kid=public["kid"])
        r = envoy.get("/orders", headers={"authorization": f"Bearer {forged}"})
        assert r.status == 401 and "signature" in r.json()["error_description"], (alg, r)
