"""The token endpoint served by the filter in real Envoy (`token_endpoint` in the plugin config,
Envoy's buffer filter behind gatepass on the token route, as in envoy/token-endpoint.yaml):
client_secret_basic, client_secret_post and private_key_jwt (an ES256 assertion signed here with
PyJWT), the issued token enforced by the same Envoy, RFC 6749 §5.2 errors, JWKS and RFC 8414
metadata, the single-use assertion `jti` across two worker threads, the body limit, and that no
token request — nor its credentials — ever reaches the upstream.

Every route of these Envoys, the token route included, leads to the echo upstream: anything the
filter let through would show up in `upstream.requests`.
"""

from __future__ import annotations

import collections
import re
import secrets
import threading
import time
from urllib.parse import urlencode

import jwt
import pytest

import harness
import tokens

TOKEN_PATH = "/oauth/token"
FORM = {"content-type": "application/x-www-form-urlencoded"}
BILLING_SECRET = secrets.token_urlsafe(32)
POSTER_SECRET = secrets.token_urlsafe(32)
TOKEN_TTL = 900


def server_config(**overrides):
    te = {
        "issuer": harness.ISSUER,
        "signing_keys": [tokens.DEMO_PRIVATE_JWK],
        "default_audiences": [harness.AUDIENCE],
        "token_ttl": f"{TOKEN_TTL}s",
        "clients": [
            {
                "client_id": "billing",
                "token_endpoint_auth_method": "client_secret_basic",
                "client_secret_hash": tokens.secret_hash(BILLING_SECRET),
                "scope": "orders:read",
            },
            {
                "client_id": "poster",
                "token_endpoint_auth_method": "client_secret_post",
                "client_secret_hash": tokens.secret_hash(POSTER_SECRET),
                "scope": "orders:read",
            },
            {
                "client_id": "worker",
                "token_endpoint_auth_method": "private_key_jwt",
                "jwks": tokens.WORKER_PUBLIC_JWKS,
                "scope": "orders:read orders:write",
            },
        ],
    }
    te.update(overrides)
    return harness.plugin_config(
        {"main": harness.provider(jwks=tokens.DEMO_PUBLIC_JWKS)}, token_endpoint=te
    )


def token_bootstrap(filter_wasm, config, upstream_port):
    """gatepass_bootstrap with the token route (buffer filter on) sent to the upstream instead
    of a local 404, and every other path to the upstream as well. `filter_wasm` None: the
    native module (no buffer filter: every path, the token route too, to the upstream)."""
    b = harness.gatepass_bootstrap(
        filter_wasm, config, upstream_port=upstream_port, routes=[harness.cluster_route("/", "upstream")]
    )
    if filter_wasm is None:
        return b
    routes = harness.virtual_host(b)["routes"]
    token_routes = [r for r in routes if r["match"].get("path") == TOKEN_PATH]
    assert len(token_routes) == 1, routes
    token_routes[0].pop("direct_response")
    token_routes[0]["route"] = {"cluster": "upstream"}
    return b


@pytest.fixture(scope="module")
def envoy(module_shell, module_envoy_factory, module_upstream):
    """The token endpoint, once with each shell (the proxy-wasm filter, the native module)."""
    return module_envoy_factory(
        token_bootstrap(module_shell.wasm, server_config(), module_upstream.port),
        name=f"token-endpoint-{module_shell.name}",
    )


basic = harness.basic_auth


def post_token(envoy, body: str, headers=None, **kw) -> harness.Response:
    return envoy.post(TOKEN_PATH, headers={**FORM, **(headers or {})}, body=body, timeout=10, **kw)


def token_requests_seen(upstream) -> list:
    with upstream.lock:
        return [r for r in upstream.requests if r["path"].startswith(TOKEN_PATH)]


def assert_token_response(r: harness.Response, client_id: str, scope: str) -> str:
    """RFC 6749 §5.1 and RFC 9068: a JSON Bearer token, no-store, signed by the demo key."""
    assert r.status == 200, r
    assert r.header("cache-control") == "no-store", r
    assert (r.header("content-type") or "").startswith("application/json"), r
    body = r.json()
    assert body["token_type"].lower() == "bearer", body
    assert body["expires_in"] == TOKEN_TTL, body
    token = body["access_token"]
    header, _ = tokens.decode_unverified(token)
    assert header["typ"] == "at+jwt" and header["alg"] == "EdDSA" and header["kid"] == "demo-2026", header
    # The signature and registered claims, checked by PyJWT against the published key.
    public = jwt.PyJWK(tokens.DEMO_PUBLIC_JWKS["keys"][0])
    claims = jwt.decode(
        token,
        public.key,
        algorithms=["EdDSA"],
        audience=harness.AUDIENCE,
        issuer=harness.ISSUER,
        options={"require": ["exp", "iat", "jti", "sub", "iss", "aud"]},
    )
    assert claims["sub"] == client_id and claims["client_id"] == client_id, claims
    assert claims["scope"] == scope, claims
    assert claims["exp"] - claims["iat"] == TOKEN_TTL, claims
    assert abs(claims["iat"] - time.time()) < 30, claims
    return token


def assert_invalid_client(r: harness.Response, *, basic_challenge: bool = True) -> str:
    assert r.status == 401, r
    body = r.json()
    assert body["error"] == "invalid_client", body
    assert body.get("error_description"), body
    if basic_challenge:
        challenge = r.header("www-authenticate") or ""
        assert challenge.startswith("Basic realm="), r
    return body["error_description"]


# ---------------------------------------------------------------------------------------------
# Client authentication methods, and the token they get


def test_client_secret_basic_token_passes_enforcement_on_the_same_envoy(envoy, module_upstream):
    before = envoy.counters()
    r = post_token(envoy, "grant_type=client_credentials", basic("billing", BILLING_SECRET))
    token = assert_token_response(r, "billing", "orders:read")
    assert envoy.counters_delta(before) == {"gatepass.token.issued": 1}

    r = envoy.get("/orders/7", headers={"authorization": f"Bearer {token}"})
    assert r.status == 200, r
    seen = r.json()["headers"]
    assert seen["x-client-id"] == "billing" and "authorization" not in seen, seen
    # billing may only read.
    assert envoy.post("/orders", headers={"authorization": f"Bearer {token}"}, body="{}").status == 403
    assert token_requests_seen(module_upstream) == []


def test_client_secret_post_token_passes_enforcement(envoy, module_upstream):
    body = urlencode({"grant_type": "client_credentials", "client_id": "poster", "client_secret": POSTER_SECRET})
    token = assert_token_response(post_token(envoy, body), "poster", "orders:read")
    r = envoy.get("/orders/1", headers={"authorization": f"Bearer {token}"})
    assert r.status == 200, r
    assert r.json()["headers"]["x-client-id"] == "poster"
    assert token_requests_seen(module_upstream) == []


def test_chunked_token_request_body_is_buffered_and_answered(envoy, module_upstream):
    """The form arrives in several chunks (Transfer-Encoding: chunked): still one answer, from
    the whole body."""
    parts = [b"grant_type=client_", b"credentials&sco", b"pe=orders%3Aread"]
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"
    r = envoy.post(
        TOKEN_PATH,
        headers={**FORM, **basic("billing", BILLING_SECRET), "transfer-encoding": "chunked"},
        body=chunked,
    )
    assert_token_response(r, "billing", "orders:read")
    assert token_requests_seen(module_upstream) == []


def test_wrong_secret_is_401_invalid_client_with_basic_challenge(envoy, module_upstream):
    before = envoy.counters()
    r = post_token(envoy, "grant_type=client_credentials", basic("billing", BILLING_SECRET + "x"))
    assert_invalid_client(r)
    assert r.header("www-authenticate") == f'Basic realm="{harness.ISSUER}", charset="UTF-8"', r
    assert "access_token" not in r.json()
    assert envoy.counters_delta(before) == {"gatepass.token.client_auth_failed": 1}
    assert token_requests_seen(module_upstream) == []


def test_unknown_client_is_401_invalid_client(envoy):
    assert_invalid_client(post_token(envoy, "grant_type=client_credentials", basic("nobody", BILLING_SECRET)))


def test_client_secret_post_with_a_wrong_secret_is_401_invalid_client(envoy):
    body = urlencode({"grant_type": "client_credentials", "client_id": "poster", "client_secret": "wrong"})
    assert_invalid_client(post_token(envoy, body))


def test_scope_beyond_the_clients_is_400_invalid_scope(envoy):
    before = envoy.counters()
    r = post_token(envoy, "grant_type=client_credentials&scope=orders%3Awrite", basic("billing", BILLING_SECRET))
    assert r.status == 400, r
    assert r.json()["error"] == "invalid_scope", r
    assert envoy.counters_delta(before) == {"gatepass.token.refused": 1}


def test_get_on_the_token_endpoint_is_405(envoy, module_upstream):
    r = envoy.get(TOKEN_PATH, headers=basic("billing", BILLING_SECRET))
    assert r.status == 405, r
    assert r.header("allow") == "POST", r
    assert r.json()["error"] == "invalid_request", r
    assert token_requests_seen(module_upstream) == []


def test_jwks_is_served_with_the_public_signing_key(envoy):
    r = envoy.get("/.well-known/jwks.json")
    assert r.status == 200, r
    assert (r.header("content-type") or "").startswith("application/json"), r
    keys = r.json()["keys"]
    assert [k["kid"] for k in keys] == ["demo-2026"], keys
    assert keys[0]["x"] == tokens.DEMO_PRIVATE_JWK["x"]
    assert all("d" not in k for k in keys), "no private member is published"
    assert envoy.post("/.well-known/jwks.json", body="").status == 405


def test_metadata_is_served_with_the_rfc8414_fields(envoy):
    r = envoy.get("/.well-known/oauth-authorization-server")
    assert r.status == 200, r
    doc = r.json()
    # RFC 8414 §2 (issuer, response_types_supported required; the rest as this server has them).
    assert doc["issuer"] == harness.ISSUER
    assert doc["token_endpoint"] == harness.ISSUER + TOKEN_PATH
    assert doc["jwks_uri"] == harness.ISSUER + "/.well-known/jwks.json"
    assert doc["response_types_supported"] == []
    assert doc["grant_types_supported"] == ["client_credentials"]
    assert set(doc["token_endpoint_auth_methods_supported"]) >= {
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
    }
    assert {"ES256", "EdDSA"} <= set(doc["token_endpoint_auth_signing_alg_values_supported"])
    assert "none" not in doc["token_endpoint_auth_signing_alg_values_supported"]
    assert set(doc["scopes_supported"]) == {"orders:read", "orders:write"}


# ---------------------------------------------------------------------------------------------
# private_key_jwt


def test_private_key_jwt_es256_assertion_gets_a_token_and_is_single_use(envoy, module_upstream):
    assertion = tokens.client_assertion()
    before = envoy.counters()
    r = post_token(envoy, tokens.assertion_form(assertion))
    token = assert_token_response(r, "worker", "orders:read orders:write")
    assert envoy.post("/orders", headers={"authorization": f"Bearer {token}"}, body="{}").status == 200

    again = post_token(envoy, tokens.assertion_form(assertion))
    assert_invalid_client(again, basic_challenge=False)
    assert envoy.counters_delta(before) == {
        "gatepass.token.issued": 1,
        "gatepass.token.client_auth_failed": 1,
        "gatepass.allowed": 1,
    }
    assert token_requests_seen(module_upstream) == []


@pytest.mark.parametrize("typ", [None, "JWT", "application/jwt", "client-authentication+jwt"])
def test_private_key_jwt_assertion_typ_absent_JWT_or_explicit_is_accepted(envoy, typ):
    """draft-ietf-oauth-rfc7523bis §4 and DESIGN.md: `typ` absent, `JWT` (what most client
    libraries send) or `client-authentication+jwt`, compared as media types."""
    r = post_token(envoy, tokens.assertion_form(tokens.client_assertion(typ=typ)))
    assert_token_response(r, "worker", "orders:read orders:write")


def test_private_key_jwt_assertion_of_an_hour_is_accepted(envoy):
    """The default `assertion_max_lifetime` is 3600 s (Authlib's fixed lifetime)."""
    r = post_token(envoy, tokens.assertion_form(tokens.client_assertion(typ="JWT", lifetime=3600)))
    assert_token_response(r, "worker", "orders:read orders:write")


@pytest.mark.parametrize(
    "case",
    ["aud_token_endpoint_url", "aud_array", "typ_at_jwt", "typ_dpop_jwt", "lifetime_over_3600s", "expired", "no_jti", "wrong_key"],
)
def test_bad_client_assertion_is_401_invalid_client(envoy, case):
    now = int(time.time())
    make = {
        # draft-ietf-oauth-rfc7523bis: aud is the issuer identifier as a string, nothing else
        # (unless allow_legacy_assertion_audience).
        "aud_token_endpoint_url": lambda: tokens.client_assertion(aud=harness.ISSUER + TOKEN_PATH),
        "aud_array": lambda: tokens.client_assertion(aud=[harness.ISSUER]),
        # RFC 8725 §3.11: a JWT typed for another purpose is no assertion.
        "typ_at_jwt": lambda: tokens.client_assertion(typ="at+jwt"),
        "typ_dpop_jwt": lambda: tokens.client_assertion(typ="dpop+jwt"),
        "lifetime_over_3600s": lambda: tokens.client_assertion(lifetime=3601),
        "expired": lambda: tokens.client_assertion(iat=now - 400, exp=now - 200),
        "no_jti": lambda: tokens.client_assertion(jti=None),
        "wrong_key": lambda: tokens.client_assertion(key=tokens.new_key("ES256")[0]),
    }[case]
    assertion = make()
    if case == "no_jti":
        assert "jti" not in tokens.decode_unverified(assertion)[1]
    assert_invalid_client(post_token(envoy, tokens.assertion_form(assertion)), basic_challenge=False)


def test_body_over_64_kib_is_413_and_never_reaches_the_upstream(envoy, module_upstream):
    body = "grant_type=client_credentials&pad=" + "a" * (64 * 1024 + 100)
    r = post_token(envoy, body, basic("billing", BILLING_SECRET))
    assert r.status == 413, r
    assert r.json()["error"] == "invalid_request", r  # the filter's answer, not the buffer filter's
    assert token_requests_seen(module_upstream) == []
    # Just under the limit is read whole and answered normally.
    body = "grant_type=client_credentials&pad=" + "a" * (64 * 1024 - 100)
    assert_token_response(post_token(envoy, body, basic("billing", BILLING_SECRET)), "billing", "orders:read")


def test_no_token_request_nor_its_credentials_ever_reach_the_upstream(envoy, module_upstream):
    """A mix of token requests (good and bad, each method, wrong method and content type, an
    oversize and an empty body): the filter answers every one; the upstream behind the token
    route sees none, and no request it saw carries the client's credentials."""
    with module_upstream.lock:
        start = len(module_upstream.requests)
    requests = [
        ("POST", "grant_type=client_credentials", {**FORM, **basic("billing", BILLING_SECRET)}),
        ("POST", "grant_type=client_credentials", {**FORM, **basic("billing", "nope")}),
        ("POST", tokens.assertion_form(tokens.client_assertion()), FORM),
        ("POST", "grant_type=client_credentials", {"content-type": "text/plain", **basic("billing", BILLING_SECRET)}),
        ("POST", "", {**FORM, **basic("billing", BILLING_SECRET)}),
        ("PUT", "grant_type=client_credentials", {**FORM, **basic("billing", BILLING_SECRET)}),
        ("GET", None, basic("billing", BILLING_SECRET)),
        ("POST", "x=" + "b" * 70_000, {**FORM, **basic("billing", BILLING_SECRET)}),
        ("POST", "grant_type=password&username=a&password=b", {**FORM, **basic("billing", BILLING_SECRET)}),
    ]
    statuses = []
    for method, body, headers in requests:
        r = envoy.request(method, TOKEN_PATH + "?probe=1", headers=headers, body=body, timeout=10)
        statuses.append(r.status)
        # Every answer is the filter's own (JSON with an error or a token), or the body limit.
        assert r.status in (200, 400, 401, 405, 413), (method, r)
    assert statuses[0] == 200 and statuses[1] == 401 and statuses[2] == 200, statuses
    assert token_requests_seen(module_upstream) == [], token_requests_seen(module_upstream)
    with module_upstream.lock:
        later = module_upstream.requests[start:]
    assert all("authorization" not in r["headers"] for r in later), later


# ---------------------------------------------------------------------------------------------
# One assertion, many threads


def _per_worker_connections(envoy) -> dict[str, int]:
    stats = envoy.stats(filter=r"^listener\.127\.0\.0\.1_[0-9]+\.worker_[0-9]+\.downstream_cx_total$")
    out = {}
    for name, value in stats.items():
        m = re.search(r"\.(worker_[0-9]+)\.", name)
        if m and isinstance(value, int):
            out[m.group(1)] = value
    return out


def test_one_assertion_raced_by_20_requests_on_2_workers_is_accepted_exactly_once(
    shell, envoy_factory, upstream
):
    """--concurrency 2: the replay store is Envoy shared data with CAS (proxy-wasm) or one
    process-wide map (native), so one `jti` is accepted once across both workers. Five rounds,
    20 simultaneous requests each, fresh assertion per round: exactly one 200 and nineteen 401
    invalid_client every time."""
    envoy = envoy_factory(token_bootstrap(shell.wasm, server_config(), upstream.port), concurrency=2)
    n = 20
    for round_ in range(5):
        assertion = tokens.client_assertion()
        body = tokens.assertion_form(assertion)
        barrier = threading.Barrier(n)
        results: list = [None] * n

        def fire(i: int) -> None:
            barrier.wait(timeout=10)
            try:
                results[i] = post_token(envoy, body)
            except Exception as e:  # noqa: BLE001 - reported below
                results[i] = e

        threads = [threading.Thread(target=fire, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert all(isinstance(r, harness.Response) for r in results), results
        statuses = collections.Counter(r.status for r in results)
        assert statuses == {200: 1, 401: n - 1}, f"round {round_}: {statuses}"
        for r in results:
            if r.status == 401:
                assert r.json()["error"] == "invalid_client", r
            else:
                assert_token_response(r, "worker", "orders:read orders:write")
    # Both workers took connections, so the race really crossed VMs.
    per_worker = _per_worker_connections(envoy)
    assert len(per_worker) == 2 and all(v > 0 for v in per_worker.values()), per_worker
    counters = envoy.counters()
    assert counters.get("gatepass.token.issued") == 5, counters
    assert counters.get("gatepass.token.client_auth_failed") == 5 * (n - 1), counters
    assert token_requests_seen(upstream) == []
