"""Enforcement with a local JWKS in real Envoy: every RFC 6750 §3.1 answer, what the upstream
sees on success (claim headers, payload header, the token header or not), spoofed inbound copies
of the filter's headers removed on every route, `allow_missing`, the verified-token cache, and
the gatepass counters of each outcome; with each shell (the proxy-wasm filter, the native
module).

Tokens are minted here with PyJWT and the demo Ed25519 key (envoy/demo-keys/private.jwk.json).
One Envoy serves the whole module; every test uses fresh tokens (distinct `jti`) so no test
hits another's cache entry, and compares counters as deltas.
"""

from __future__ import annotations

import json
import secrets
import time

import jwt
import pytest

import harness
import tokens
from tokens import access_token, b64url_decode

REALM = "gatepass"
OWNED = ("x-client-id", "x-scope", "x-jwt-payload")  # claim_to_headers + forward_payload_header

# The shipped rules without their catch-all, so that the tests below also see a path no rule
# matches.
RULES = [
    *harness.RESOURCE_RULES,
    # `fwd`: the same issuer, but `forward: true` keeps the Authorization header upstream.
    {"match": {"prefix": "/fwd"}, "requires": {"provider_name": "fwd", "scopes": ["orders:read"]}},
    # `es256only`: the same keys, but only ES256 is allowed: an EdDSA token is refused.
    {"match": {"prefix": "/es256only"}, "requires": {"provider_name": "es256only"}},
    # `noskew`: clock_skew_seconds 0, so a token is refused the second its exp passes.
    {"match": {"prefix": "/noskew"}, "requires": {"provider_name": "noskew"}},
]


@pytest.fixture(scope="module")
def envoy(module_shell, module_envoy_factory, module_upstream):
    """Once with each shell (the proxy-wasm filter, the native module)."""
    config = harness.plugin_config(
        {
            "main": harness.provider(jwks=tokens.DEMO_PUBLIC_JWKS),
            "fwd": harness.provider(jwks=tokens.DEMO_PUBLIC_JWKS, forward=True),
            "es256only": harness.provider(jwks=tokens.DEMO_PUBLIC_JWKS, algorithms=["ES256"]),
            "noskew": harness.provider(jwks=tokens.DEMO_PUBLIC_JWKS, clock_skew_seconds=0),
        },
        RULES,
        realm=REALM,
    )
    # Every path goes to the echo upstream, so what passes is visible, whatever the rule.
    b = harness.gatepass_bootstrap(
        module_shell.wasm,
        config,
        upstream_port=module_upstream.port,
        routes=[harness.cluster_route("/", "upstream")],
    )
    return module_envoy_factory(b, name=f"enforcement-{module_shell.name}")


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def upstream_count(upstream) -> int:
    with upstream.lock:
        return len(upstream.requests)


def assert_bearer_error(r: harness.Response, status: int, code: str) -> str:
    """RFC 6750 §3.1: the status, `WWW-Authenticate: Bearer realm=..., error=...,
    error_description=...`, and a JSON body with exactly `error` and `error_description`."""
    assert r.status == status, r
    challenge = r.header("www-authenticate") or ""
    assert challenge.startswith(f'Bearer realm="{REALM}", error="{code}", error_description="'), r
    assert (r.header("content-type") or "").startswith("application/json"), r
    body = r.json()
    assert set(body) == {"error", "error_description"}, body
    assert body["error"] == code, body
    assert body["error_description"] and f'error_description="{body["error_description"]}"' in challenge, r
    return body["error_description"]


# ---------------------------------------------------------------------------------------------
# RFC 6750 §3.1 answers


def test_no_token_gets_401_with_a_bare_bearer_challenge(envoy, module_upstream):
    before, seen = envoy.counters(), upstream_count(module_upstream)
    r = envoy.get("/orders/1")
    assert r.status == 401, r
    # RFC 6750 §3.1: no authentication information → no error code in the challenge.
    assert r.header("www-authenticate") == f'Bearer realm="{REALM}"', r
    assert "error" not in r.json(), r
    assert envoy.counters_delta(before) == {"gatepass.denied.missing_token": 1}
    assert upstream_count(module_upstream) == seen, "a refused request must not reach the upstream"


def test_another_auth_scheme_counts_as_no_token(envoy):
    r = envoy.get("/orders/1", headers={"authorization": "Basic YmlsbGluZzpzZWNyZXQ="})
    assert r.status == 401, r
    assert r.header("www-authenticate") == f'Bearer realm="{REALM}"', r


@pytest.mark.parametrize("value", ["Bearer a b", "Bearer", "Bearer a,b", "Bearer x==y"])
def test_malformed_authorization_is_400_invalid_request(envoy, module_upstream, value):
    before, seen = envoy.counters(), upstream_count(module_upstream)
    r = envoy.get("/orders/1", headers={"authorization": value})
    assert_bearer_error(r, 400, "invalid_request")
    assert envoy.counters_delta(before) == {"gatepass.denied.invalid_request": 1}
    assert upstream_count(module_upstream) == seen


@pytest.mark.parametrize("path", ["/orders/1", "/fwd/1", "/public/x"])
def test_two_authorization_headers_are_400_invalid_request(envoy, module_upstream, path):
    """RFC 6750 §3.1: more than one credential is a malformed request — a valid token next to a
    forged one must not let the forged one ride along (least of all where `forward: true`)."""
    good = access_token()
    seen = upstream_count(module_upstream)
    for pair in ((good, "forged.token.here"), ("forged.token.here", good)):
        r = envoy.get(path, headers=[("authorization", f"Bearer {t}") for t in pair])
        assert_bearer_error(r, 400, "invalid_request")
    assert upstream_count(module_upstream) == seen


def _other_ed25519_key():
    key, _ = tokens.new_key("EdDSA")
    return key


def _tampered_payload() -> str:
    """A valid token whose payload was changed after signing (scope widened)."""
    h, _, s = access_token().split(".")
    claims = tokens.access_claims(scope="orders:read orders:write")
    p = jwt.utils.base64url_encode(json.dumps(claims, separators=(",", ":")).encode()).decode()
    return f"{h}.{p}.{s}"


def _flipped_signature() -> str:
    h, p, s = access_token().split(".")
    sig = bytearray(b64url_decode(s))
    sig[10] ^= 0x01
    return f"{h}.{p}.{jwt.utils.base64url_encode(bytes(sig)).decode()}"


def _hs256_with_the_demo_kid() -> str:
    # alg confusion: an HMAC token naming the Ed25519 key (RFC 8725 §2.1).
    return tokens.sign(tokens.access_claims(), key=secrets.token_bytes(32), alg="HS256")


def _alg_none() -> str:
    return tokens.sign(tokens.access_claims(), key="", alg="none")


INVALID_TOKENS = {
    "expired": lambda: access_token(exp=int(time.time()) - 120, iat=int(time.time()) - 700),
    "wrong_iss": lambda: access_token(iss="https://evil.example"),
    "wrong_aud": lambda: access_token(aud="https://other-api.example"),
    "wrong_typ_JWT": lambda: access_token(typ="JWT"),
    "no_typ": lambda: access_token(typ=None),
    "bad_signature_other_key_same_kid": lambda: access_token(key=_other_ed25519_key()),
    "bad_signature_flipped_bit": _flipped_signature,
    "tampered_payload": _tampered_payload,
    "alg_none": _alg_none,
    "alg_HS256_not_allowed": _hs256_with_the_demo_kid,
    "unknown_kid": lambda: access_token(kid="not-a-known-kid"),
    "no_exp": lambda: access_token(exp=None),
    "nbf_in_the_future": lambda: access_token(nbf=int(time.time()) + 600),
    "lifetime_over_max_lifetime": lambda: access_token(iat=int(time.time()), exp=int(time.time()) + 7200),
    "not_a_jwt": lambda: "not.a.jwt",
}


@pytest.mark.parametrize("case", sorted(INVALID_TOKENS))
def test_invalid_token_is_401_invalid_token(envoy, module_upstream, case):
    token = INVALID_TOKENS[case]()
    before, seen = envoy.counters(), upstream_count(module_upstream)
    r = envoy.get("/orders/1", headers=bearer(token))
    assert_bearer_error(r, 401, "invalid_token")
    assert envoy.counters_delta(before) == {"gatepass.denied.invalid_token": 1}
    assert upstream_count(module_upstream) == seen


def test_alg_outside_the_providers_allowlist_is_401_invalid_token(envoy):
    """`es256only` has the same (EdDSA) key but allows only ES256: a correctly signed EdDSA
    token is refused (alg must be in the allowlist and match the key)."""
    token = access_token()
    assert envoy.get("/orders/1", headers=bearer(token)).status == 200  # the token itself is good
    r = envoy.get("/es256only/x", headers=bearer(token))
    assert_bearer_error(r, 401, "invalid_token")


def test_missing_scope_is_403_insufficient_scope_naming_the_scope(envoy, module_upstream):
    token = access_token(scope="orders:read")
    before, seen = envoy.counters(), upstream_count(module_upstream)
    r = envoy.post("/orders", headers=bearer(token), body="{}")
    description = assert_bearer_error(r, 403, "insufficient_scope")
    assert description
    assert 'scope="orders:write"' in r.header("www-authenticate"), r
    assert envoy.counters_delta(before) == {"gatepass.denied.insufficient_scope": 1}
    assert upstream_count(module_upstream) == seen


# ---------------------------------------------------------------------------------------------
# What passes, and what the upstream sees


def test_valid_token_reaches_upstream_with_claim_headers_and_payload_but_no_authorization(envoy, module_upstream):
    claims = tokens.access_claims(scope="orders:read orders:write", client_id="billing-7")
    token = tokens.sign(claims)
    before, seen_before = envoy.counters(), upstream_count(module_upstream)
    r = envoy.get("/orders/7?x=1", headers=bearer(token))
    assert r.status == 200, r
    seen = r.json()
    assert seen["path"] == "/orders/7?x=1"
    assert seen["headers"]["x-client-id"] == "billing-7"
    assert seen["headers"]["x-scope"] == "orders:read orders:write"
    # forward_payload_header: the token's payload segment (base64url), i.e. the verified claims.
    payload = seen["headers"]["x-jwt-payload"]
    assert payload == token.split(".")[1]
    assert json.loads(b64url_decode(payload)) == claims
    # forward: false
    assert "authorization" not in seen["headers"], seen
    assert envoy.counters_delta(before) == {"gatepass.allowed": 1}
    assert upstream_count(module_upstream) == seen_before + 1


def test_bearer_scheme_is_case_insensitive(envoy):
    r = envoy.get("/orders/1", headers={"authorization": f"bEaReR {access_token()}"})
    assert r.status == 200, r


def test_forward_true_keeps_the_authorization_header(envoy):
    token = access_token()
    r = envoy.get("/fwd/1", headers=bearer(token))
    assert r.status == 200, r
    seen = r.json()["headers"]
    assert seen["authorization"] == f"Bearer {token}"
    assert seen["x-client-id"] == "billing"


SPOOF = [(h, "spoofed") for h in OWNED] + [(h, "spoofed-again") for h in OWNED]


@pytest.mark.parametrize(
    "path,with_token",
    [
        ("/orders/1", True),  # protected (main, forward false)
        ("/fwd/1", True),  # protected (fwd, forward true)
        ("/public/x", False),  # allow_missing without a token
        ("/public/x", True),  # allow_missing with a valid token
        ("/health", False),  # a rule with no requirement
        ("/unmatched/route", False),  # no rule at all
    ],
)
def test_spoofed_claim_headers_are_removed_on_every_route(envoy, path, with_token):
    """RFC 9700 §4.13-style: inbound copies (even repeated) of every header the filter sets are
    removed before the request goes upstream; where a token was verified, only the filter's
    own values arrive."""
    token = access_token(client_id="real-client")
    headers = list(SPOOF) + ([("authorization", f"Bearer {token}")] if with_token else [])
    r = envoy.get(path, headers=headers)
    assert r.status == 200, r
    seen = r.json()
    values = {h: [v for k, v in seen["header_list"] if k == h] for h in OWNED}
    if with_token:
        assert values == {
            "x-client-id": ["real-client"],
            "x-scope": ["orders:read"],
            "x-jwt-payload": [token.split(".")[1]],
        }, seen
    else:
        assert values == {h: [] for h in OWNED}, seen


# ---------------------------------------------------------------------------------------------
# allow_missing


def test_allow_missing_without_token_passes(envoy):
    before = envoy.counters()
    r = envoy.get("/public/info")
    assert r.status == 200, r
    assert envoy.counters_delta(before) == {"gatepass.allowed_without_token": 1}


def test_allow_missing_with_a_bad_token_is_401(envoy, module_upstream):
    seen = upstream_count(module_upstream)
    before = envoy.counters()
    r = envoy.get("/public/info", headers=bearer(access_token(iss="https://evil.example")))
    assert_bearer_error(r, 401, "invalid_token")
    assert envoy.counters_delta(before) == {"gatepass.denied.invalid_token": 1}
    assert upstream_count(module_upstream) == seen


def test_allow_missing_with_a_malformed_header_is_400(envoy):
    r = envoy.get("/public/info", headers={"authorization": "Bearer a b"})
    assert_bearer_error(r, 400, "invalid_request")


def test_unmatched_route_counts_no_requirement(envoy):
    before = envoy.counters()
    # Even a garbage token is not looked at where no rule applies.
    r = envoy.get("/elsewhere", headers={"authorization": "Bearer garbage"})
    assert r.status == 200, r
    assert envoy.counters_delta(before) == {"gatepass.no_requirement": 1}
    # ... and the Authorization header is not the filter's to remove there.
    assert r.json()["headers"]["authorization"] == "Bearer garbage"


# ---------------------------------------------------------------------------------------------
# Verified-token cache


def test_same_token_twice_is_served_from_the_cache_and_scope_still_applies(envoy):
    token = access_token(scope="orders:read")
    before = envoy.counters()
    assert envoy.get("/orders/1", headers=bearer(token)).status == 200
    assert envoy.counters_delta(before) == {"gatepass.allowed": 1}

    before = envoy.counters()
    r = envoy.get("/orders/2", headers=bearer(token))
    assert r.status == 200, r
    assert r.json()["headers"]["x-client-id"] == "billing", "claim headers also from a cache hit"
    assert envoy.counters_delta(before) == {"gatepass.allowed": 1, "gatepass.allowed_cached": 1}

    # Cached, but this route needs orders:write: the scope is checked on every request.
    before = envoy.counters()
    r = envoy.post("/orders", headers=bearer(token), body="{}")
    assert_bearer_error(r, 403, "insufficient_scope")
    assert 'scope="orders:write"' in r.header("www-authenticate"), r
    assert envoy.counters_delta(before) == {"gatepass.denied.insufficient_scope": 1}


def test_a_refused_token_is_not_cached(envoy):
    """Refusals are decided afresh: the same bad token twice is counted invalid twice."""
    token = access_token(aud="https://other-api.example")
    before = envoy.counters()
    for _ in range(2):
        assert envoy.get("/orders/1", headers=bearer(token)).status == 401
    assert envoy.counters_delta(before) == {"gatepass.denied.invalid_token": 2}


def test_cached_token_is_dropped_at_its_exp(envoy):
    """The cache keeps a verified token until `exp` (+ skew, 0 here), not longer: the same token
    that passed from the cache is refused once it has expired."""
    exp = int(time.time()) + 2
    token = access_token(exp=exp)
    assert envoy.get("/noskew/1", headers=bearer(token)).status == 200
    before = envoy.counters()
    assert envoy.get("/noskew/1", headers=bearer(token)).status == 200
    assert envoy.counters_delta(before) == {"gatepass.allowed": 1, "gatepass.allowed_cached": 1}
    time.sleep(max(0.0, exp + 1.1 - time.time()))
    before = envoy.counters()
    r = envoy.get("/noskew/1", headers=bearer(token))
    assert_bearer_error(r, 401, "invalid_token")
    assert envoy.counters_delta(before) == {"gatepass.denied.invalid_token": 1}
